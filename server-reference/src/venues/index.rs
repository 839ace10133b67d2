//! The in-memory spatial index venue search runs on, kept in step with the database through a
//! change log the database itself writes.
//!
//! # Why in memory
//! A city-sized search matches hundreds of venues, and sorting by distance needs every match's
//! position. Reading those rows through the database driver costs ~5 µs each (sqlx's SQLite
//! worker threads hand rows over one by one, `Any` converts every value), so on SQLite a single
//! search spent 3–4 ms of CPU in the driver and the server could not keep up with 1,000 requests/s.
//! Here each venue is a compact entry (position, the filterable fields, the lowercased text) in a
//! grid of 0.1° latitude bands sorted by longitude ([`super::geo`]): a search visits only the
//! bands its bounding box touches, binary-searches the longitude range, filters and measures in
//! memory, and the database reads just the page it returns.
//!
//! # Why it is never stale
//! Triggers append every insert, update and delete of a `venues` row to `venue_changes`, in the
//! writer's own transaction (migration `0101_venue_changes`), whoever writes: this server, a
//! second instance on the same PostgreSQL, an import, or an operator with `psql`. Before each
//! search, [`VenueIndex::sync`] reads the log past the last sequence number it applied (one indexed
//! query, usually empty) and reloads the venues it names, so a search sees every write committed
//! before it started. Searches arriving while a sync runs wait for it, and reuse it if it began
//! after they arrived.
//!
//! PostgreSQL hands out sequence numbers at insert time, not commit time, so a number below the
//! newest one seen may belong to a transaction still in flight: such gaps are re-read on every
//! sync for [`GAP_WAIT`] (after which they must be rolled-back numbers). The log is pruned after
//! [`LOG_RETENTION`]; an index that has not synced for [`RELOAD_AFTER`] (shorter) reloads whole.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sqlx::AssertSqlSafe;

use super::geo::{Point, haversine_m, lat_band};
use super::model::VenueKind;
use super::search::{Area, MAX_CANDIDATES, Search};
use crate::db::{Db, unix_now};
use crate::error::{ApiError, ApiResult};

/// How long a gap in the change log's sequence is awaited before it counts as rolled back.
pub const GAP_WAIT: Duration = Duration::from_secs(60);
/// An index that has not synced for this long reloads everything (the log may be pruned).
pub const RELOAD_AFTER: Duration = Duration::from_secs(30 * 60);
/// Change-log entries older than this are deleted (well above [`RELOAD_AFTER`]).
pub const LOG_RETENTION: Duration = Duration::from_secs(2 * 60 * 60);
/// How often one instance prunes the log.
const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);
/// More changes than this in one sync: reload everything instead.
const MAX_CHANGES_PER_SYNC: i64 = 20_000;
/// Widest run of missing sequence numbers awaited as in-flight transactions.
const MAX_AWAITED_GAP: i64 = 1_000;
/// Venues loaded per query while reloading changed ones.
const LOAD_CHUNK: usize = 500;

/// What search needs of one venue.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    id: Box<str>,
    point: Point,
    kind: VenueKind,
    capacity: Option<i64>,
    price_cents: Option<i64>,
    currency: Option<Box<str>>,
    equipment_mask: i64,
    /// Half-open minute-of-week spans (the `venue_hours` rows).
    hours: Box<[(i64, i64)]>,
    /// Lowercased name and address.
    search_text: Box<str>,
}

impl Entry {
    /// Every filter of `search` except the area (same meaning as the stored columns').
    fn matches(&self, search: &Search) -> bool {
        (search.kinds.is_empty() || search.kinds.contains(&self.kind))
            && search
                .min_capacity
                .is_none_or(|c| self.capacity.is_some_and(|v| v >= i64::from(c)))
            && search
                .max_price_cents
                .is_none_or(|p| self.price_cents.is_some_and(|v| v <= p))
            && search
                .currency
                .as_deref()
                .is_none_or(|c| self.currency.as_deref() == Some(c))
            && self.equipment_mask & search.equipment_mask == search.equipment_mask
            && search
                .text
                .as_deref()
                .is_none_or(|t| self.search_text.contains(t))
            && search
                .open_at
                .is_none_or(|m| self.hours.iter().any(|&(s, e)| s <= m && m < e))
    }
}

/// The grid: entries in slots, each band a list of `(longitude, slot)` sorted by longitude.
#[derive(Debug, Default)]
struct Grid {
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    by_id: HashMap<Box<str>, usize>,
    bands: HashMap<i64, Vec<(f64, usize)>>,
}

impl Grid {
    fn remove(&mut self, id: &str) {
        let Some(slot) = self.by_id.remove(id) else {
            return;
        };
        if let Some(entry) = self.slots[slot].take() {
            let band = lat_band(entry.point.latitude);
            if let Some(list) = self.bands.get_mut(&band) {
                list.retain(|&(_, s)| s != slot);
            }
        }
        self.free.push(slot);
    }

    fn upsert(&mut self, entry: Entry) {
        self.remove(&entry.id);
        let (band, lon) = (lat_band(entry.point.latitude), entry.point.longitude);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.by_id.insert(entry.id.clone(), slot);
        self.slots[slot] = Some(entry);
        let list = self.bands.entry(band).or_default();
        let at = list.partition_point(|&(l, _)| l < lon);
        list.insert(at, (lon, slot));
    }

    /// Builds the grid from scratch (sorting each band once instead of inserting in order).
    fn build(entries: Vec<Entry>) -> Self {
        let mut grid = Self::default();
        for entry in entries {
            let slot = grid.slots.len();
            let band = lat_band(entry.point.latitude);
            grid.bands
                .entry(band)
                .or_default()
                .push((entry.point.longitude, slot));
            if let Some(old) = grid.by_id.insert(entry.id.clone(), slot) {
                grid.slots[old] = None; // duplicate id in one load: keep the last
                grid.free.push(old);
            }
            grid.slots.push(Some(entry));
        }
        for list in grid.bands.values_mut() {
            list.retain(|&(_, s)| grid.slots[s].is_some());
            list.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        grid
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// The matches of a search, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hits {
    /// Matches in total, over all pages.
    pub total: usize,
    /// The requested page: `(distance in metres, venue id)`.
    pub page: Vec<(f64, String)>,
    /// Length of the page as cut (before any venue deleted meanwhile is left out).
    pub page_len: usize,
    /// Index entries looked at (the bands and longitude range of the area): how selective the
    /// grid was, for tests and metrics.
    pub examined: usize,
}

/// Where the index stands in the change log.
#[derive(Debug, Default)]
struct SyncState {
    /// The index reflects the database as of these log entries.
    applied: i64,
    /// Sequence numbers below `applied` not seen yet, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
    /// When the last sync began (searches that arrived before it need no sync of their own).
    last_start: Option<Instant>,
    /// When the last sync finished; `None` before the first load.
    last_sync: Option<Instant>,
    last_prune: Option<Instant>,
}

/// The venue index; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct VenueIndex {
    grid: Arc<RwLock<Grid>>,
    sync: Arc<tokio::sync::Mutex<SyncState>>,
}

/// The compact columns of a venue.
const ENTRY_COLUMNS: &str = "id, kind, latitude, longitude, capacity, price_cents, currency, \
                             equipment_mask, search_text";

type EntryRow = (
    String,
    String,
    f64,
    f64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
    String,
);

impl VenueIndex {
    /// An empty index; the first [`sync`](Self::sync) loads every venue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Venues in the index.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the index holds no venue.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Grid> {
        // A panic while holding the lock leaves a consistent grid (every mutation completes
        // before the next line runs), so a poisoned lock is still usable.
        self.grid.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Grid> {
        self.grid.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Brings the index up to date with every write committed before this call.
    pub async fn sync(&self, db: &Db) -> ApiResult<()> {
        let arrived = Instant::now();
        let mut state = self.sync.lock().await;
        if state.last_start.is_some_and(|t| t >= arrived) {
            return Ok(()); // a sync that began after we arrived has seen all we need
        }
        let start = Instant::now();
        state.last_start = Some(start);
        let stale = state
            .last_sync
            .is_none_or(|t| start.duration_since(t) >= RELOAD_AFTER);
        if stale {
            self.reload(db, &mut state).await?;
        } else {
            self.catch_up(db, &mut state, start).await?;
        }
        state.last_sync = Some(Instant::now());
        if state
            .last_prune
            .is_none_or(|t| start.duration_since(t) >= PRUNE_EVERY)
        {
            state.last_prune = Some(start);
            let horizon = unix_now() - i64::try_from(LOG_RETENTION.as_secs()).unwrap_or(i64::MAX);
            sqlx::query("DELETE FROM venue_changes WHERE changed_at < $1")
                .bind(horizon)
                .execute(&db.pool)
                .await?;
        }
        Ok(())
    }

    /// Loads every venue; the log position is read first, so writes racing the load are
    /// replayed by the next sync (replaying is idempotent).
    async fn reload(&self, db: &Db, state: &mut SyncState) -> ApiResult<()> {
        let applied: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM venue_changes")
            .fetch_one(&db.pool)
            .await?;
        let entries = load(db, None).await?;
        *self.write() = Grid::build(entries);
        state.applied = applied;
        state.gaps.clear();
        tracing::info!(venues = self.len(), "venue index loaded");
        Ok(())
    }

    /// Applies the log entries past `state.applied` (and any awaited gaps).
    async fn catch_up(&self, db: &Db, state: &mut SyncState, now: Instant) -> ApiResult<()> {
        state
            .gaps
            .retain(|_, first_missed| now.duration_since(*first_missed) < GAP_WAIT);
        let from = state
            .gaps
            .keys()
            .next()
            .map_or(state.applied, |&gap| gap - 1)
            .min(state.applied);
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, venue_id FROM venue_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(from)
        .bind(MAX_CHANGES_PER_SYNC + 1)
        .fetch_all(&db.pool)
        .await?;
        if rows.len() > usize::try_from(MAX_CHANGES_PER_SYNC).unwrap_or(usize::MAX) {
            return self.reload(db, state).await;
        }
        let mut changed = HashSet::new();
        let mut expected = state.applied + 1;
        for (seq, venue_id) in rows {
            if seq > state.applied {
                // Numbers skipped on the way up may still commit (see the module docs); a jump
                // wider than any batch of concurrent writers is a sequence reset, not in-flight
                // transactions.
                if seq - expected <= MAX_AWAITED_GAP {
                    for missing in expected..seq {
                        state.gaps.insert(missing, now);
                    }
                }
                expected = seq + 1;
                state.applied = seq;
                changed.insert(venue_id);
            } else if state.gaps.remove(&seq).is_some() {
                changed.insert(venue_id);
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = changed.into_iter().collect();
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(LOAD_CHUNK) {
            found.extend(load(db, Some(chunk)).await?);
        }
        let mut grid = self.write();
        for id in &ids {
            grid.remove(id); // deleted ones stay removed; the rest are re-added below
        }
        for entry in found {
            grid.upsert(entry);
        }
        Ok(())
    }

    /// The matches of `search`'s area and filters, sorted by `(distance, id)`, and its page.
    pub fn search(&self, search: &Search) -> ApiResult<Hits> {
        let grid = self.read();
        let bbox = search.area.bbox();
        let mut hits: Vec<(f64, usize)> = Vec::new();
        let mut examined = 0;
        for band in bbox.bands() {
            let Some(list) = grid.bands.get(&band) else {
                continue;
            };
            for (min_lon, max_lon) in bbox.lon_ranges() {
                let from = list.partition_point(|&(lon, _)| lon < min_lon);
                for &(lon, slot) in &list[from..] {
                    if lon > max_lon {
                        break;
                    }
                    examined += 1;
                    let Some(entry) = &grid.slots[slot] else {
                        continue;
                    };
                    let lat = entry.point.latitude;
                    if lat < bbox.min_lat || lat > bbox.max_lat || !entry.matches(search) {
                        continue;
                    }
                    let distance = haversine_m(search.origin, entry.point);
                    let inside = match search.area {
                        Area::Radius { radius_m, .. } => distance <= radius_m,
                        Area::Box(_) => true, // the band and longitude bounds are the box
                    };
                    if inside {
                        hits.push((distance, slot));
                    }
                }
            }
            if hits.len() > MAX_CANDIDATES {
                return Err(ApiError::BadRequest(format!(
                    "more than {MAX_CANDIDATES} venues match in this area; narrow the area or \
                     add filters"
                )));
            }
        }
        let id = |slot: usize| grid.slots[slot].as_ref().map_or("", |e| &*e.id);
        hits.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| id(a.1).cmp(id(b.1))));
        let page: Vec<(f64, String)> = hits
            .iter()
            .skip(search.offset)
            .take(search.limit)
            .map(|&(distance, slot)| (distance, id(slot).to_owned()))
            .collect();
        Ok(Hits {
            total: hits.len(),
            page_len: page.len(),
            page,
            examined,
        })
    }
}

/// Reads the entries of `ids` (all venues when `None`).
async fn load(db: &Db, ids: Option<&[String]>) -> ApiResult<Vec<Entry>> {
    let (venue_sql, hours_sql) = match ids {
        None => (
            format!("SELECT {ENTRY_COLUMNS} FROM venues"),
            "SELECT venue_id, start_minute, end_minute FROM venue_hours".to_owned(),
        ),
        Some(ids) => {
            // Only placeholders are generated; every value is bound.
            let placeholders = (1..=ids.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            (
                format!("SELECT {ENTRY_COLUMNS} FROM venues WHERE id IN ({placeholders})"),
                format!(
                    "SELECT venue_id, start_minute, end_minute FROM venue_hours \
                     WHERE venue_id IN ({placeholders})"
                ),
            )
        }
    };
    let mut venues = sqlx::query_as::<_, EntryRow>(AssertSqlSafe(venue_sql));
    let mut hours = sqlx::query_as::<_, (String, i64, i64)>(AssertSqlSafe(hours_sql));
    for id in ids.unwrap_or_default() {
        venues = venues.bind(id);
        hours = hours.bind(id);
    }
    let mut spans: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for (venue_id, start, end) in hours.fetch_all(&db.pool).await? {
        spans.entry(venue_id).or_default().push((start, end));
    }
    let rows = venues.fetch_all(&db.pool).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for (id, kind, latitude, longitude, capacity, price_cents, currency, mask, text) in rows {
        let Some(kind) = VenueKind::parse(&kind) else {
            tracing::warn!(venue = %id, kind = %kind, "venue of unknown kind left out of search");
            continue;
        };
        let hours = spans.remove(&id).unwrap_or_default().into_boxed_slice();
        entries.push(Entry {
            id: id.into_boxed_str(),
            point: Point {
                latitude,
                longitude,
            },
            kind,
            capacity,
            price_cents,
            currency: currency.map(String::into_boxed_str),
            equipment_mask: mask,
            hours,
            search_text: text.into_boxed_str(),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, latitude: f64, longitude: f64) -> Entry {
        Entry {
            id: id.into(),
            point: Point {
                latitude,
                longitude,
            },
            kind: VenueKind::RehearsalRoom,
            capacity: None,
            price_cents: None,
            currency: None,
            equipment_mask: 0,
            hours: Box::new([]),
            search_text: "".into(),
        }
    }

    fn ids(grid: &Grid) -> Vec<(i64, Vec<String>)> {
        let mut bands: Vec<_> = grid
            .bands
            .iter()
            .filter(|(_, list)| !list.is_empty())
            .map(|(&band, list)| {
                let ids = list
                    .iter()
                    .map(|&(_, s)| grid.slots[s].as_ref().expect("live slot").id.to_string())
                    .collect();
                (band, ids)
            })
            .collect();
        bands.sort();
        bands
    }

    #[test]
    fn updates_keep_bands_sorted_and_reuse_slots() {
        let mut grid = Grid::build(vec![
            entry("a", 52.51, 13.3),
            entry("b", 52.51, 13.1),
            entry("c", 48.1, 11.5),
        ]);
        assert_eq!(
            ids(&grid),
            vec![
                (lat_band(48.1), vec!["c".into()]),
                (lat_band(52.51), vec!["b".into(), "a".into()]),
            ]
        );
        // Moving "c" into Berlin's band puts it in longitude order there.
        grid.upsert(entry("c", 52.52, 13.2));
        assert_eq!(
            ids(&grid),
            vec![(lat_band(52.51), vec!["b".into(), "c".into(), "a".into()])]
        );
        grid.remove("b");
        grid.remove("missing");
        assert_eq!(grid.len(), 2);
        grid.upsert(entry("d", 52.52, 13.0));
        assert_eq!(grid.slots.len(), 3, "the freed slot is reused");
        assert_eq!(
            ids(&grid),
            vec![(lat_band(52.51), vec!["d".into(), "c".into(), "a".into()])]
        );
    }
}

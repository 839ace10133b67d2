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
//! Following the log (PostgreSQL's sequence gaps, pruning, falling back to a full reload) is
//! shared with the live recommender: [`crate::change_log`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use sqlx::{AssertSqlSafe, Row};

use super::geo::{Point, haversine_m, lat_band};
use super::model::VenueKind;
use super::search::{Area, MAX_CANDIDATES, Search};
use crate::change_log::{self, Follower, Step};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

pub use crate::change_log::{GAP_WAIT, LOG_RETENTION, RELOAD_AFTER};

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

/// The venue index; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct VenueIndex {
    grid: Arc<RwLock<Grid>>,
    sync: Arc<tokio::sync::Mutex<Follower>>,
}

impl Default for VenueIndex {
    fn default() -> Self {
        Self {
            grid: Arc::default(),
            sync: Arc::new(tokio::sync::Mutex::new(Follower::new("venue_changes"))),
        }
    }
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
        let mut log = self.sync.lock().await;
        let (start, step) = log.begin(arrived);
        let done = match step {
            Step::Covered => return Ok(()),
            Step::Reload => self.reload(db, &mut log).await,
            Step::CatchUp => self.catch_up(db, &mut log, start).await,
        };
        log.finish(db, start, done).await
    }

    /// Loads every venue; the log position is read first, so writes racing the load are
    /// replayed by the next sync (replaying is idempotent).
    async fn reload(&self, db: &Db, log: &mut Follower) -> ApiResult<()> {
        let read_at = Instant::now();
        let position = change_log::position(db, log.table()).await?;
        let entries = load(db, None).await?;
        *self.write() = Grid::build(entries);
        log.reloaded(position, read_at);
        tracing::info!(venues = self.len(), "venue index loaded");
        Ok(())
    }

    /// Applies the log entries not applied yet.
    async fn catch_up(&self, db: &Db, log: &mut Follower, now: Instant) -> ApiResult<()> {
        let Some(rows) = log
            .read_new(db, "venue_id", now, |r| r.try_get::<String, _>(1))
            .await?
        else {
            return self.reload(db, log).await;
        };
        let changed: HashSet<String> = rows.into_iter().collect();
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

//! The live recommender: the [`Recommender`] over every stored profile, with its measured RTTs,
//! co-jam graph and attendance, kept in memory so a request never loads the population.
//!
//! Built once at start ([`LiveRecommender::reload`]). Each profile or feedback write through
//! this server updates the members and pairs it touched at once (see [`super::feedback`]), and
//! before every recommendation [`LiveRecommender::sync`] applies what other writers did: triggers
//! append each write to `profiles`, `jam_members`, `jam_ratings` and `rtt_measurements` to
//! `recommender_changes` (migration `0201_recommender_changes`), and the sync reads the log past
//! the last entry it applied (one indexed query, usually empty) and reloads just the members and
//! pairs named there ([`super::changes`]), with the PostgreSQL gap handling of
//! [`crate::change_log`]. So several servers on one PostgreSQL see each other's writes in their
//! next recommendation. The periodic full reload (`--recommender-refresh-secs`, default 300 s)
//! remains for what the log does not carry: daylight-saving offsets and a full bio-model refit;
//! between reloads the bio model is refitted on its own once enough bios changed
//! ([`BIO_REFIT_DRIFT`], checked every [`BIO_CHECK_SECS`]).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use sqlx::Row;

use super::changes;
use crate::change_log::{self, Follower, Position, Step};
use crate::db::Db;
use crate::error::ApiResult;
use crate::profiles::model::{Goal as ProfileGoal, Instrument, Visibility, Weekday};
use crate::profiles::{self, Profile};
use crate::recommend::text::BioRefit;
use crate::recommend::{
    Candidate, CoJamGraph, GeoPoint, Goal, InstrumentSkill, MemberId, NetworkId, Recommender,
    RttTable, Slot,
};
use crate::time_zone::member_offset_minutes;
use crate::venues::hours::day_index;

/// How many of a pair's latest RTT reports the median is taken over.
pub const RTT_WINDOW: usize = 20;
/// The rating a jam pair counts with when neither side rated the other.
pub const UNRATED: f64 = 3.0;
/// Refit the bio model once this share of the bios was added, edited or removed since the last
/// fit: by then enough document frequencies may have moved to change rankings.
pub const BIO_REFIT_DRIFT: f64 = 0.1;
/// How often the refresh task checks the bios' drift, seconds (at most the reload period).
pub const BIO_CHECK_SECS: u64 = 30;

/// What a recommendation shows about a member (only fields every member may read).
#[derive(Debug, Clone)]
pub struct Listing {
    /// The user id (= profile id).
    pub user_id: String,
    /// Display name.
    pub display_name: String,
    /// Instruments with skill and years.
    pub instruments: Vec<Instrument>,
    /// City, if given.
    pub city: Option<String>,
}

/// Everything behind the lock.
#[derive(Debug)]
pub struct Population {
    /// The recommender.
    pub rec: Recommender,
    ids: HashMap<String, MemberId>,
    listings: HashMap<MemberId, Listing>,
    /// Attended and no-show counts per member.
    attendance: HashMap<MemberId, (u32, u32)>,
    /// Each member's latest reported access network.
    member_network: HashMap<MemberId, NetworkId>,
    networks: HashMap<String, NetworkId>,
    next_id: u64,
}

impl Population {
    fn empty() -> Self {
        Self {
            rec: Recommender::new(Vec::new(), RttTable::default(), CoJamGraph::default()),
            ids: HashMap::new(),
            listings: HashMap::new(),
            attendance: HashMap::new(),
            member_network: HashMap::new(),
            networks: HashMap::new(),
            next_id: 0,
        }
    }

    /// The member number of a user id, assigning one if new.
    fn member_id(&mut self, user_id: &str) -> MemberId {
        if let Some(&id) = self.ids.get(user_id) {
            return id;
        }
        let id = MemberId(self.next_id);
        self.next_id += 1;
        self.ids.insert(user_id.to_owned(), id);
        id
    }

    /// The member number of a user id with a profile in the index.
    pub fn member(&self, user_id: &str) -> Option<MemberId> {
        self.ids
            .get(user_id)
            .copied()
            .filter(|id| self.listings.contains_key(id))
    }

    /// What may be shown about a member.
    pub fn listing(&self, id: MemberId) -> Option<&Listing> {
        self.listings.get(&id)
    }

    /// The id of a network label, assigning one if new.
    fn network_id(&mut self, label: &str) -> NetworkId {
        let next = NetworkId(self.networks.len() as u64);
        *self.networks.entry(label.to_owned()).or_insert(next)
    }

    fn candidate(&self, id: MemberId, p: &Profile) -> Candidate {
        let (attended, no_shows) = self.attendance.get(&id).copied().unwrap_or_default();
        candidate(
            id,
            p,
            attended,
            no_shows,
            self.member_network.get(&id).copied(),
            jiff::Timestamp::now(),
        )
    }

    /// Adds or replaces a profile.
    pub fn upsert_profile(&mut self, p: &Profile) {
        let id = self.member_id(&p.user_id);
        let c = self.candidate(id, p);
        self.listings.insert(
            id,
            Listing {
                user_id: p.user_id.clone(),
                display_name: p.data.display_name.clone(),
                instruments: p.data.instruments.clone(),
                city: p.data.city.clone(),
            },
        );
        self.rec.upsert(c);
    }

    /// Removes a profile.
    pub fn remove_profile(&mut self, user_id: &str) {
        if let Some(&id) = self.ids.get(user_id) {
            self.listings.remove(&id);
            self.rec.remove(id);
        }
    }

    /// Re-files a member whose attendance or network changed.
    fn refresh_member(&mut self, id: MemberId) {
        if let Some(mut c) = self.rec.member(id).cloned() {
            let (attended, no_shows) = self.attendance.get(&id).copied().unwrap_or_default();
            c.jams_attended = attended;
            c.no_shows = no_shows;
            c.network = self.member_network.get(&id).copied();
            self.rec.upsert(c);
        }
    }
}

/// Minutes after midnight of a validated `HH:MM`.
fn minutes(hhmm: &str) -> u16 {
    let (h, m) = hhmm.split_once(':').unwrap_or(("0", "0"));
    h.parse::<u16>().unwrap_or(0) * 60 + m.parse::<u16>().unwrap_or(0)
}

/// A stored profile as the recommender sees it, at instant `at`. Private profiles are hidden
/// (never recommended). Availability stays in the member's local time; `utc_offset_min` is their
/// zone's offset at `at` (the DST rule of [`crate::time_zone`]; UTC for no or an unknown zone),
/// and the recommender converts the windows to UTC minutes of the week with it, wrapping the
/// week's end.
pub fn candidate(
    id: MemberId,
    p: &Profile,
    jams_attended: u32,
    no_shows: u32,
    network: Option<NetworkId>,
    at: jiff::Timestamp,
) -> Candidate {
    let d = &p.data;
    // 0 = Monday, as the venues' opening hours count (always < 7, so the cast is exact).
    let day = |w: Weekday| day_index(w) as u8;
    Candidate {
        id,
        instruments: d
            .instruments
            .iter()
            .map(|i| InstrumentSkill {
                name: i.name.clone(),
                skill: i.skill,
                years: i.years_played,
            })
            .collect(),
        genres: d.genres.clone(),
        influences: d.influences.clone(),
        bio: d.bio.clone(),
        location: d.coordinates.map(|c| GeoPoint {
            lat: c.latitude,
            lon: c.longitude,
        }),
        utc_offset_min: member_offset_minutes(&p.user_id, d.time_zone.as_deref(), at),
        availability: d
            .availability
            .iter()
            .map(|s| Slot {
                day: day(s.day),
                start_min: minutes(&s.start),
                end_min: minutes(&s.end),
            })
            .collect(),
        looking_for: d.looking_for.instruments.clone(),
        goals: d
            .looking_for
            .goals
            .iter()
            .map(|g| match g {
                ProfileGoal::CasualJam => Goal::CasualJam,
                ProfileGoal::Band => Goal::Band,
                ProfileGoal::SessionWork => Goal::SessionWork,
                ProfileGoal::Gigs => Goal::Gigs,
            })
            .collect(),
        max_latency_ms: d.max_latency_ms.map(f64::from),
        network,
        jams_attended,
        no_shows,
        hidden: d.visibility == Visibility::Private,
    }
}

/// The shared live recommender; cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveRecommender(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    population: RwLock<Population>,
    /// Where the population stands in `recommender_changes`; held for a whole sync or reload.
    log: tokio::sync::Mutex<Follower>,
}

/// The change log the live recommender follows (migration `0201_recommender_changes`).
const CHANGE_LOG: &str = "recommender_changes";

impl Default for LiveRecommender {
    fn default() -> Self {
        Self(Arc::new(Shared {
            population: RwLock::new(Population::empty()),
            log: tokio::sync::Mutex::new(Follower::new(CHANGE_LOG)),
        }))
    }
}

impl LiveRecommender {
    /// Read access (a panic while writing leaves consistent-enough data: recover the guard).
    pub fn read(&self) -> RwLockReadGuard<'_, Population> {
        self.0
            .population
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Write access.
    pub fn write(&self) -> RwLockWriteGuard<'_, Population> {
        self.0
            .population
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Rebuilds everything from the database and swaps it in. The load runs without the log
    /// lock, so recommendations keep being served (and synced) from the old population
    /// meanwhile; entries they apply after the position read are applied again to the new one.
    pub async fn reload(&self, db: &Db) -> ApiResult<()> {
        let start = Instant::now();
        let loaded = Self::load(db).await;
        let mut log = self.0.log.lock().await;
        let done = loaded.map(|(position, population)| {
            *self.write() = population;
            log.reloaded(position, start);
        });
        log.finish(db, start, done).await
    }

    /// Reloads with the log lock held (a sync that found itself too far behind).
    async fn reload_locked(&self, db: &Db, log: &mut Follower) -> ApiResult<()> {
        let start = Instant::now();
        let (position, population) = Self::load(db).await?;
        *self.write() = population;
        log.reloaded(position, start);
        Ok(())
    }

    /// The log position, then everything the population is built from, built.
    async fn load(db: &Db) -> ApiResult<(Position, Population)> {
        let position = change_log::position(db, CHANGE_LOG).await?;
        let profiles = profiles::load_all(db).await?;
        let feedback = Feedback::load(db).await?;
        let population = tokio::task::spawn_blocking(move || feedback.build(&profiles))
            .await
            .map_err(|e| crate::ApiError::Internal(format!("index build failed: {e}")))?;
        Ok((position, population))
    }

    /// Brings the population up to date with every write committed before this call, by any
    /// server instance or by hand: one indexed read of the change log when nothing changed.
    pub async fn sync(&self, db: &Db) -> ApiResult<()> {
        let arrived = Instant::now();
        let mut log = self.0.log.lock().await;
        let (start, step) = log.begin(arrived);
        let done = match step {
            Step::Covered => return Ok(()),
            Step::Reload => self.reload_locked(db, &mut log).await,
            Step::CatchUp => match log
                .read_new(db, changes::COLUMNS, start, changes::parse)
                .await
            {
                Ok(Some(rows)) if rows.len() <= changes::MAX_APPLIED => {
                    changes::apply(db, self, rows).await
                }
                Ok(_) => self.reload_locked(db, &mut log).await,
                Err(e) => Err(e),
            },
        };
        log.finish(db, start, done).await
    }

    /// Refits the bio model to the current bios and swaps it in; the fit runs on a blocking
    /// thread from a snapshot, so recommendations keep being served meanwhile.
    pub async fn refit_bios(&self) -> ApiResult<()> {
        let bios = self.read().rec.bios();
        let refit = tokio::task::spawn_blocking(move || BioRefit::build(bios))
            .await
            .map_err(|e| crate::ApiError::Internal(format!("bio refit failed: {e}")))?;
        self.write().rec.install_bio_refit(refit);
        Ok(())
    }

    /// Refits the bio model when at least [`BIO_REFIT_DRIFT`] of the bios changed since the
    /// last fit; returns whether it did.
    pub async fn refit_bios_if_drifted(&self) -> ApiResult<bool> {
        if self.read().rec.bio_drift() < BIO_REFIT_DRIFT {
            return Ok(false);
        }
        self.refit_bios().await?;
        Ok(true)
    }

    /// While the server runs (the task ends with the last clone): reloads everything every
    /// `secs` seconds, which refreshes each member's UTC offset (daylight saving) and refits the
    /// bio model, and in between checks every [`BIO_CHECK_SECS`] whether the bios drifted enough
    /// for a refit of its own.
    pub fn spawn_refresh(&self, db: Db, secs: u64) {
        if secs == 0 {
            return;
        }
        let weak = Arc::downgrade(&self.0);
        let check = secs.min(BIO_CHECK_SECS);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(check));
            tick.tick().await;
            let mut since_reload = 0;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let live = LiveRecommender(inner);
                since_reload += check;
                if since_reload >= secs {
                    since_reload = 0;
                    if let Err(e) = live.reload(&db).await {
                        tracing::warn!(error = %e, "recommender refresh failed");
                    }
                } else if let Err(e) = live.refit_bios_if_drifted().await {
                    tracing::warn!(error = %e, "bio model refit failed");
                }
            }
        });
    }
}

/// One stored RTT report: (user_a, user_b, rtt, network_a, network_b).
type RttRow = (String, String, f64, Option<String>, Option<String>);

/// The stored feedback, read in full for a (re)build.
#[derive(Default)]
struct Feedback {
    /// (jam, user, attended)
    jam_members: Vec<(String, String, bool)>,
    /// (jam, rater, ratee, rating)
    ratings: Vec<(String, String, String, i64)>,
    /// (user_a, user_b, rtt, network_a, network_b), newest first.
    rtts: Vec<RttRow>,
}

impl Feedback {
    async fn load(db: &Db) -> ApiResult<Self> {
        let jam_members = sqlx::query("SELECT jam_id, user_id, attended FROM jam_members")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64, _>(2)? != 0)))
            .collect::<Result<_, sqlx::Error>>()?;
        let ratings = sqlx::query("SELECT jam_id, rater_id, ratee_id, rating FROM jam_ratings")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let rtts = sqlx::query(
            "SELECT user_a, user_b, rtt_ms, network_a, network_b FROM rtt_measurements \
             ORDER BY measured_at DESC, id",
        )
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
        Ok(Self {
            jam_members,
            ratings,
            rtts,
        })
    }

    fn build(self, profiles: &[Profile]) -> Population {
        let mut pop = Population::empty();
        // Number everyone first so feedback can refer to them.
        for p in profiles {
            pop.member_id(&p.user_id);
        }
        // Attendance, and co-jam pairs from jams both attended.
        let mut jams: HashMap<&str, Vec<&str>> = HashMap::new();
        for (jam, user, attended) in &self.jam_members {
            let id = pop.member_id(user);
            let entry = pop.attendance.entry(id).or_default();
            if *attended {
                entry.0 += 1;
                jams.entry(jam).or_default().push(user);
            } else {
                entry.1 += 1;
            }
        }
        let mut ratings: HashMap<(&str, &str, &str), Vec<i64>> = HashMap::new();
        for (jam, rater, ratee, rating) in &self.ratings {
            let (a, b) = ordered(rater, ratee);
            ratings.entry((jam, a, b)).or_default().push(*rating);
        }
        let mut pairs: HashMap<(MemberId, MemberId), (u32, f64)> = HashMap::new();
        for (jam, users) in &jams {
            for (i, a) in users.iter().enumerate() {
                for b in &users[i + 1..] {
                    let (a, b) = ordered(a, b);
                    let rating = ratings.get(&(*jam, a, b)).map_or(UNRATED, |r| mean(r));
                    let key = (pop.member_id(a), pop.member_id(b));
                    let e = pairs.entry(key).or_default();
                    e.0 += 1;
                    e.1 += rating;
                }
            }
        }
        let mut graph = CoJamGraph::default();
        for ((a, b), (n, sum)) in pairs {
            graph.set_pair(a, b, n, sum / f64::from(n));
        }
        pop.rec.set_graph(graph);
        // RTTs: the median of each pair's latest reports; networks likewise; a member's network
        // is the one they reported last.
        let mut by_pair: HashMap<(MemberId, MemberId), Vec<f64>> = HashMap::new();
        let mut by_net: HashMap<(NetworkId, NetworkId), Vec<f64>> = HashMap::new();
        for (a, b, rtt, na, nb) in &self.rtts {
            let (ia, ib) = (pop.member_id(a), pop.member_id(b));
            let list = by_pair.entry((ia, ib)).or_default();
            if list.len() < RTT_WINDOW {
                list.push(*rtt);
            }
            for (id, net) in [(ia, na), (ib, nb)] {
                if let Some(net) = net {
                    let n = pop.network_id(net);
                    pop.member_network.entry(id).or_insert(n);
                }
            }
            if let (Some(na), Some(nb)) = (na, nb) {
                let key = (pop.network_id(na), pop.network_id(nb));
                let list = by_net.entry(key).or_default();
                if list.len() < RTT_WINDOW {
                    list.push(*rtt);
                }
            }
        }
        let rtts = pop.rec.rtts_mut();
        for ((a, b), mut v) in by_pair {
            rtts.insert_pair(a, b, median(&mut v));
        }
        for ((a, b), mut v) in by_net {
            rtts.insert_network(a, b, median(&mut v));
        }
        for p in profiles {
            pop.upsert_profile(p);
        }
        // The members were added one by one to an empty recommender, whose bio model knows no
        // document frequencies yet: fit it to the whole population.
        pop.rec.refit_bios();
        pop
    }
}

fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b { (a, b) } else { (b, a) }
}

fn mean(v: &[i64]) -> f64 {
    v.iter().sum::<i64>() as f64 / v.len().max(1) as f64
}

/// Median of a non-empty list (the mean of the middle two for an even count).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Incremental updates after feedback writes (the same rules as the full build).
impl Population {
    /// Applies a jam pair's new summary (jams both attended, mean rating).
    pub fn set_cojam(&mut self, a: &str, b: &str, jams: u32, rating: f64) {
        let (a, b) = (self.member_id(a), self.member_id(b));
        self.rec.graph_mut().set_pair(a, b, jams, rating);
    }

    /// Applies a member's new attendance counts.
    pub fn set_attendance(&mut self, user: &str, attended: u32, no_shows: u32) {
        let id = self.member_id(user);
        self.attendance.insert(id, (attended, no_shows));
        self.refresh_member(id);
    }

    /// Applies a pair's new RTT summary and the networks just reported.
    pub fn set_rtt(
        &mut self,
        (a, na): (&str, Option<&str>),
        (b, nb): (&str, Option<&str>),
        pair_median_ms: f64,
        network_median_ms: Option<f64>,
    ) {
        let (ia, ib) = (self.member_id(a), self.member_id(b));
        self.rec.rtts_mut().insert_pair(ia, ib, pair_median_ms);
        let na = na.map(|n| self.network_id(n));
        let nb = nb.map(|n| self.network_id(n));
        for (id, net) in [(ia, na), (ib, nb)] {
            if let Some(net) = net
                && self.member_network.insert(id, net) != Some(net)
            {
                self.refresh_member(id);
            }
        }
        if let (Some(na), Some(nb), Some(ms)) = (na, nb, network_median_ms) {
            self.rec.rtts_mut().insert_network(na, nb, ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::{Factor, Mode, Query};

    /// A profile in `tz` with one weekly window, e.g. `("tue", "19:00", "22:00")`.
    fn profile(user: &str, tz: &str, (day, start, end): (&str, &str, &str)) -> Profile {
        let data = serde_json::json!({
            "display_name": user,
            "instruments": [{ "name": "guitar", "skill": 3, "years_played": 5 }],
            "coordinates": { "latitude": 50.0, "longitude": 0.0 },
            "time_zone": tz,
            "availability": [{ "day": day, "start": start, "end": end }],
            "visibility": "public",
        });
        Profile {
            user_id: user.into(),
            data: serde_json::from_value(data).expect("valid profile"),
            demo: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    /// Shared minutes a week (the availability factor is `min(1, minutes / 180)`) and the
    /// phrase `a` is shown about `b`, with both filed at instant `at`.
    fn overlap(a: &Profile, b: &Profile, at: &str) -> (f64, Option<String>) {
        let at: jiff::Timestamp = at.parse().expect("valid timestamp");
        let members = vec![
            candidate(MemberId(0), a, 0, 0, None, at),
            candidate(MemberId(1), b, 0, 0, None, at),
        ];
        let rec = Recommender::new(members, RttTable::default(), CoJamGraph::default());
        let mut q = Query::new(Mode::InPerson, 10);
        q.max_travel_km = 1_000.0;
        let r = rec
            .score(MemberId(0), MemberId(1), &q)
            .expect("both members known")
            .expect("feasible pair");
        let f = r
            .breakdown
            .iter()
            .find(|f| f.factor == Factor::Availability)
            .expect("availability factor");
        ((f.value * 180.0).round(), f.note.clone())
    }

    const WINTER: &str = "2026-01-13T12:00:00Z";

    #[test]
    fn windows_overlap_in_utc_not_in_local_time() {
        // Berlin 19–22 (UTC+1) and New York 13–16 (UTC−5) share no local hour, yet both are
        // 18–21 UTC.
        let berlin = profile("b", "Europe/Berlin", ("tue", "19:00", "22:00"));
        let new_york = profile("n", "America/New_York", ("tue", "13:00", "16:00"));
        let (minutes, note) = overlap(&berlin, &new_york, WINTER);
        assert_eq!(minutes, 180.0);
        // Each side reads the shared time in their own zone.
        assert_eq!(note.as_deref(), Some("free Tuesday evenings"));
        let (_, note) = overlap(&new_york, &berlin, WINTER);
        assert_eq!(note.as_deref(), Some("free Tuesday afternoons"));
        // The same local evening in both cities is six hours apart: nothing shared.
        let new_york_evening = profile("n", "America/New_York", ("tue", "19:00", "22:00"));
        assert_eq!(overlap(&berlin, &new_york_evening, WINTER), (0.0, None));
    }

    #[test]
    fn windows_wrap_the_week_end() {
        // Monday 01:00–03:00 in Tokyo (UTC+9) is Sunday 16:00–18:00 UTC.
        let tokyo = profile("t", "Asia/Tokyo", ("mon", "01:00", "03:00"));
        let london = profile("l", "Europe/London", ("sun", "15:00", "19:00"));
        let (minutes, note) = overlap(&tokyo, &london, WINTER);
        assert_eq!(minutes, 120.0);
        assert_eq!(note.as_deref(), Some("free Monday nights"));
        let (_, note) = overlap(&london, &tokyo, WINTER);
        assert_eq!(note.as_deref(), Some("free Sunday afternoons"));
    }

    #[test]
    fn offsets_are_those_in_effect_when_filed() {
        // Berlin 19–22 and New York 13–16 local: six hours apart in winter and summer, five in
        // the weeks the US already keeps summer time and Europe does not (DST began in the US
        // on 2026-03-08 and in the EU at 01:00 UTC on 2026-03-29).
        let berlin = profile("b", "Europe/Berlin", ("tue", "19:00", "22:00"));
        let new_york = profile("n", "America/New_York", ("tue", "13:00", "16:00"));
        assert_eq!(overlap(&berlin, &new_york, WINTER).0, 180.0);
        assert_eq!(overlap(&berlin, &new_york, "2026-03-29T00:59:59Z").0, 120.0);
        assert_eq!(overlap(&berlin, &new_york, "2026-03-29T01:00:00Z").0, 180.0);
    }

    #[tokio::test]
    async fn edited_bios_trigger_a_refit_that_raises_shared_rare_terms() {
        let with_bio = |user: &str, bio: &str| {
            let mut p = profile(user, "UTC", ("mon", "18:00", "21:00"));
            p.data.bio = bio.into();
            p
        };
        let live = LiveRecommender::default();
        let others = [
            "punk", "blues", "soul", "folk", "funk", "metal", "opera", "ska",
        ];
        let mut profiles = vec![with_bio("a", "theremin player, ambient drones")];
        for genre in others {
            profiles.push(with_bio(
                genre,
                &format!("I own a theremin and play {genre}"),
            ));
        }
        *live.write() = Feedback::default().build(&profiles);
        let bio = |live: &LiveRecommender| {
            let pop = live.read();
            let (a, b) = (
                pop.member("a").expect("a"),
                pop.member("punk").expect("punk"),
            );
            let mut q = Query::new(Mode::InPerson, 10);
            q.max_travel_km = 1_000.0;
            let r = pop.rec.score(b, a, &q).expect("known").expect("feasible");
            r.breakdown
                .iter()
                .find(|f| f.factor == Factor::Bio)
                .expect("bio factor")
                .value
        };
        // Not drifted yet: nothing to do.
        assert!(!live.refit_bios_if_drifted().await.expect("refit"));
        for genre in &others[1..] {
            live.write()
                .upsert_profile(&with_bio(genre, &format!("I play {genre}")));
        }
        live.write()
            .upsert_profile(&with_bio("punk", "theremin through tape loops"));
        let before = bio(&live);
        assert!(live.refit_bios_if_drifted().await.expect("refit"));
        let after = bio(&live);
        assert!(after > before + 0.05, "{before} -> {after}");
        assert_eq!(live.read().rec.bio_drift(), 0.0);
    }

    #[test]
    fn an_unknown_stored_zone_reads_as_utc() {
        let atlantis = profile("a", "Europe/Atlantis", ("tue", "18:00", "21:00"));
        let utc = profile("u", "UTC", ("tue", "18:00", "21:00"));
        assert_eq!(overlap(&atlantis, &utc, WINTER).0, 180.0);
    }
}

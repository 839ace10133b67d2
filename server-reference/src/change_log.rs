//! Following a change log that database triggers write, so an in-memory index stays current with
//! every writer: this server, another instance on the same PostgreSQL, an import, or `psql`.
//!
//! A log table has a sequence column `seq` (`BIGSERIAL` / `INTEGER PRIMARY KEY AUTOINCREMENT`)
//! and a `changed_at` column (unix seconds); triggers append a row in the writer's own
//! transaction. A follower ([`Follower`]) remembers the last sequence number it applied and, before
//! the index is read, fetches the rows past it (one indexed query, usually empty). Users: the
//! venue search index ([`crate::venues::index`], log `venue_changes`) and the live recommender
//! ([`crate::recommendations::live`], log `recommender_changes`).
//!
//! PostgreSQL hands out sequence numbers at insert time, not commit time, so a number below the
//! newest one seen may belong to a transaction still in flight: such gaps are re-read on every
//! sync for [`GAP_WAIT`] (after which they must be rolled-back numbers); a full load likewise
//! awaits the numbers missing just below the newest it saw ([`position`]). The log is pruned after
//! [`LOG_RETENTION`]; a follower that has not synced for [`RELOAD_AFTER`] (shorter) reloads whole.
//! SQLite has one writer at a time, so it never leaves gaps; the same code serves both.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::db::{Db, unix_now};
use crate::error::ApiResult;

/// How long a gap in the change log's sequence is awaited before it counts as rolled back.
pub const GAP_WAIT: Duration = Duration::from_secs(60);
/// A follower that has not synced for this long reloads everything (the log may be pruned).
pub const RELOAD_AFTER: Duration = Duration::from_secs(30 * 60);
/// Change-log entries older than this are deleted (well above [`RELOAD_AFTER`]).
pub const LOG_RETENTION: Duration = Duration::from_secs(2 * 60 * 60);
/// How often one follower prunes its log.
const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);
/// More changes than this in one sync: reload everything instead.
const MAX_CHANGES_PER_SYNC: i64 = 20_000;
/// Widest run of missing sequence numbers awaited as in-flight transactions.
const MAX_AWAITED_GAP: i64 = 1_000;
/// At a full load, how far below the newest number missing ones are awaited as transactions
/// still in flight (more than the writers that can be mid-transaction at once).
const RELOAD_GAP_WINDOW: i64 = 100;

/// Where the log stood just before a full load: the newest number and the numbers just below it
/// that were missing (writes that may commit after the load read its tables).
#[derive(Debug, Clone, Default)]
pub struct Position {
    newest: i64,
    missing: Vec<i64>,
}

/// What a sync has to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A sync that began after the caller arrived has already seen everything it needs.
    Covered,
    /// Load everything ([`position`] first, then [`Follower::reloaded`]).
    Reload,
    /// Apply the rows [`Follower::read_new`] returns.
    CatchUp,
}

/// Where a follower stands in one change log. Keep it behind an async mutex held for the whole
/// sync, so concurrent readers wait for one sync instead of running their own.
#[derive(Debug)]
pub struct Follower {
    /// The log table (a constant of ours, never input).
    table: &'static str,
    /// The index reflects the database as of these log entries.
    applied: i64,
    /// Sequence numbers below `applied` not seen yet, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
    /// When the last sync began (callers that arrived before it need no sync of their own).
    last_start: Option<Instant>,
    /// When the last sync finished; `None` before the first load.
    last_sync: Option<Instant>,
    last_prune: Option<Instant>,
}

impl Follower {
    /// A follower of `table` that has loaded nothing yet (its first sync reloads).
    pub const fn new(table: &'static str) -> Self {
        Self {
            table,
            applied: 0,
            gaps: BTreeMap::new(),
            last_start: None,
            last_sync: None,
            last_prune: None,
        }
    }

    /// Starts a sync for a caller that arrived at `arrived`; returns the sync's start time and
    /// what to do.
    pub fn begin(&mut self, arrived: Instant) -> (Instant, Step) {
        let start = Instant::now();
        if self.last_start.is_some_and(|t| t >= arrived) {
            return (start, Step::Covered);
        }
        self.last_start = Some(start);
        let stale = self
            .last_sync
            .is_none_or(|t| start.duration_since(t) >= RELOAD_AFTER);
        (start, if stale { Step::Reload } else { Step::CatchUp })
    }

    /// The log table followed.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// Records a full load as of `position` (read at `now`, before the load).
    pub fn reloaded(&mut self, position: Position, now: Instant) {
        self.applied = position.newest;
        self.gaps = position.missing.into_iter().map(|n| (n, now)).collect();
    }

    /// The log rows not applied yet (past the position, and any awaited gaps), oldest first,
    /// parsed by `parse` from `SELECT seq, {columns}` (so `columns` start at index 1); `None` when
    /// there are so many that a full reload is cheaper.
    pub async fn read_new<T>(
        &mut self,
        db: &Db,
        columns: &str,
        now: Instant,
        parse: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
    ) -> ApiResult<Option<Vec<T>>> {
        self.gaps
            .retain(|_, first_missed| now.duration_since(*first_missed) < GAP_WAIT);
        let from = self
            .gaps
            .keys()
            .next()
            .map_or(self.applied, |&gap| gap - 1)
            .min(self.applied);
        let sql = format!(
            "SELECT seq, {columns} FROM {} WHERE seq > $1 ORDER BY seq LIMIT $2",
            self.table
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(from)
            .bind(MAX_CHANGES_PER_SYNC + 1)
            .fetch_all(&db.pool)
            .await?;
        if rows.len() > usize::try_from(MAX_CHANGES_PER_SYNC).unwrap_or(usize::MAX) {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut expected = self.applied + 1;
        for row in &rows {
            let seq: i64 = row.try_get(0)?;
            if seq > self.applied {
                // Numbers skipped on the way up may still commit (see the module docs); a jump
                // wider than any batch of concurrent writers is a sequence reset, not in-flight
                // transactions.
                if seq - expected <= MAX_AWAITED_GAP {
                    for missing in expected..seq {
                        self.gaps.insert(missing, now);
                    }
                }
                expected = seq + 1;
                self.applied = seq;
                out.push(parse(row)?);
            } else if self.gaps.remove(&seq).is_some() {
                out.push(parse(row)?);
            }
        }
        Ok(Some(out))
    }

    /// Ends a sync or reload that began at `start` with outcome `done`, pruning the log now and
    /// then. A failed one may have moved the position past changes it did not apply, so the next
    /// sync reloads everything.
    pub async fn finish(&mut self, db: &Db, start: Instant, done: ApiResult<()>) -> ApiResult<()> {
        if let Err(e) = done {
            self.last_sync = None;
            return Err(e);
        }
        self.last_sync = Some(Instant::now());
        if self
            .last_prune
            .is_none_or(|t| start.duration_since(t) >= PRUNE_EVERY)
        {
            self.last_prune = Some(start);
            let horizon = unix_now() - i64::try_from(LOG_RETENTION.as_secs()).unwrap_or(i64::MAX);
            let sql = format!("DELETE FROM {} WHERE changed_at < $1", self.table);
            sqlx::query(AssertSqlSafe(sql))
                .bind(horizon)
                .execute(&db.pool)
                .await?;
        }
        Ok(())
    }
}

/// Where the log stands: read it *before* a full load, so writes racing the load are
/// replayed by the next sync (replaying must be idempotent), and numbers just below the
/// newest that are missing (PostgreSQL: transactions that may commit after the load read
/// its tables) are awaited like any gap. Needs no lock: it only reads.
pub async fn position(db: &Db, table: &'static str) -> ApiResult<Position> {
    let sql = format!(
        "SELECT seq FROM {table} WHERE seq > \
         (SELECT COALESCE(MAX(seq), 0) FROM {table}) - $1 ORDER BY seq",
    );
    let present: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(RELOAD_GAP_WINDOW)
        .fetch_all(&db.pool)
        .await?;
    let Some(&newest) = present.last() else {
        return Ok(Position::default());
    };
    let missing = (newest - RELOAD_GAP_WINDOW + 1..newest)
        .filter(|n| *n > 0 && present.binary_search(n).is_err())
        .collect();
    Ok(Position { newest, missing })
}

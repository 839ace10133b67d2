//! Applying entries of the recommender change log (`recommender_changes`, written by triggers,
//! see migration `0201_recommender_changes`) to the live population: each entry names a member,
//! jam membership, rating or measurement, and the members and pairs it touched are recomputed
//! from the stored rows with the same functions the feedback endpoints use, so applying an entry
//! twice (this server's own writes come back through the log too) changes nothing.
//!
//! A co-jam pair that loses its last shared jam keeps its old summary until the next full reload
//! (jams are only deleted together with a member's account, whose profile goes at once).

use std::collections::{BTreeSet, HashSet};

use sqlx::Row;
use sqlx::any::AnyRow;

use super::feedback::{refresh_attendance, refresh_pair, refresh_rtt};
use super::live::LiveRecommender;
use crate::db::Db;
use crate::error::ApiResult;
use crate::profiles;

/// More entries than this in one sync (a bulk import, a long outage) reload everything instead:
/// each entry costs a few queries, a full reload a few table scans.
pub(crate) const MAX_APPLIED: usize = 1_000;

/// The columns of a log entry after `seq`.
pub(crate) const COLUMNS: &str = "kind, subject, object";

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    kind: String,
    subject: String,
    object: Option<String>,
}

/// Reads an entry from `SELECT seq, kind, subject, object`.
pub(crate) fn parse(row: &AnyRow) -> Result<Change, sqlx::Error> {
    Ok(Change {
        kind: row.try_get(1)?,
        subject: row.try_get(2)?,
        object: row.try_get(3)?,
    })
}

fn ordered(a: String, b: String) -> (String, String) {
    if a <= b { (a, b) } else { (b, a) }
}

/// Applies a batch of entries, each member and pair once.
pub(crate) async fn apply(db: &Db, live: &LiveRecommender, changes: Vec<Change>) -> ApiResult<()> {
    let mut members = BTreeSet::new();
    let mut attendance = BTreeSet::new();
    let mut jams: HashSet<(String, String)> = HashSet::new();
    let mut pairs = BTreeSet::new();
    let mut rtts = Vec::new();
    for c in changes {
        match (c.kind.as_str(), c.object) {
            ("profile", _) => {
                members.insert(c.subject);
            }
            ("jam_member", Some(jam)) => {
                attendance.insert(c.subject.clone());
                jams.insert((c.subject, jam));
            }
            ("rating", Some(ratee)) => {
                pairs.insert(ordered(c.subject, ratee));
            }
            ("rtt", _) => rtts.push(c.subject),
            (kind, _) => tracing::warn!(%kind, "unknown recommender change ignored"),
        }
    }
    for user in &members {
        match profiles::load_one(db, user).await? {
            Some(p) => live.write().upsert_profile(&p),
            None => live.write().remove_profile(user),
        }
    }
    for user in &attendance {
        refresh_attendance(db, live, user).await?;
    }
    // A changed membership touches the member's pairs with everyone who played in that jam.
    for (user, jam) in jams {
        let players: Vec<String> = sqlx::query_scalar(
            "SELECT user_id FROM jam_members WHERE jam_id = $1 AND attended = 1",
        )
        .bind(&jam)
        .fetch_all(&db.pool)
        .await?;
        for other in players.into_iter().filter(|o| *o != user) {
            pairs.insert(ordered(user.clone(), other));
        }
    }
    for (a, b) in &pairs {
        refresh_pair(db, live, a, b).await?;
    }
    for id in rtts {
        let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT user_a, user_b, network_a, network_b FROM rtt_measurements WHERE id = $1",
        )
        .bind(&id)
        .fetch_optional(&db.pool)
        .await?;
        if let Some((a, b, na, nb)) = row {
            refresh_rtt(db, live, (&a, na.as_deref()), (&b, nb.as_deref())).await?;
        }
    }
    Ok(())
}

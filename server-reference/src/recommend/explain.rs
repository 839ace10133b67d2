//! Human phrases for factor values, and the one-line reason built from them.
//!
//! Each factor that is worth mentioning gets a short note when it is scored; the reason is a
//! selection of those notes. So a reason can never claim something the breakdown does not show.

use super::factors::{Factor, WEEK_MIN};
use super::latency::{LatencyEstimate, LatencySource};

/// One factor's part in a score.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorScore {
    /// Which factor.
    pub factor: Factor,
    /// Its value, 0..1.
    pub value: f64,
    /// Its weight in the total.
    pub weight: f64,
    /// `value × weight / Σ weights`: the total is the sum of these.
    pub contribution: f64,
    /// What it says in words, when it is worth saying.
    pub note: Option<String>,
}

/// How many notes a reason holds besides the latency/distance one.
const REASON_NOTES: usize = 3;

/// The reason: the distance or latency note (always shown when present: it decides whether a jam
/// works at all) plus the notes of the three largest other contributions, in a fixed factor order
/// and joined with " · ".
pub fn reason(breakdown: &[FactorScore]) -> String {
    let is_place = |f: Factor| matches!(f, Factor::Latency | Factor::Distance);
    let mut others: Vec<&FactorScore> = breakdown
        .iter()
        .filter(|s| s.note.is_some() && !is_place(s.factor))
        .collect();
    others.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    others.truncate(REASON_NOTES);
    let mut chosen: Vec<&FactorScore> = breakdown
        .iter()
        .filter(|s| s.note.is_some() && is_place(s.factor))
        .chain(others)
        .collect();
    chosen.sort_by_key(|s| order(s.factor));
    chosen
        .iter()
        .filter_map(|s| s.note.as_deref())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Reading order of a reason: what they play, taste, history, place, time.
fn order(f: Factor) -> u8 {
    match f {
        Factor::Instruments => 0,
        Factor::Genres => 1,
        Factor::Influences => 2,
        Factor::Bio => 3,
        Factor::Skill => 4,
        Factor::Goals => 5,
        Factor::CoJam => 6,
        Factor::Latency | Factor::Distance => 7,
        Factor::Availability => 8,
        Factor::Reliability => 9,
    }
}

/// "plays bass, which you are looking for" / "looking for guitar, which you play".
pub fn instruments(offered: Option<&str>, wanted: Option<&str>) -> Option<String> {
    match (offered, wanted) {
        (Some(o), _) => Some(format!("plays {o}, which you are looking for")),
        (None, Some(w)) => Some(format!("looking for {w}, which you play")),
        (None, None) => None,
    }
}

/// "4 shared genres" / "also likes jazz"; `None` when nothing is shared.
pub fn genres(shared: usize, most_specific: Option<&str>) -> Option<String> {
    match (shared, most_specific) {
        (0, _) | (_, None) => None,
        (1, Some(g)) => Some(format!("also likes {g}")),
        (n, Some(_)) => Some(format!("{n} shared genres")),
    }
}

/// "also influenced by Miles Davis" (+ "and 2 more").
pub fn influences(shared: usize, most_specific: Option<&str>) -> Option<String> {
    match (shared, most_specific) {
        (0, _) | (_, None) => None,
        (1, Some(i)) => Some(format!("also influenced by {i}")),
        (n, Some(i)) => Some(format!("also influenced by {i} and {} more", n - 1)),
    }
}

/// Bios this close read alike (cosine of TF-IDF vectors).
pub const SIMILAR_BIO: f64 = 0.2;
/// Skill proximity this high is "a similar level" (within about one step).
pub const SIMILAR_LEVEL: f64 = 0.75;

/// "similar bio" above [`SIMILAR_BIO`].
pub fn bio(value: f64) -> Option<String> {
    (value >= SIMILAR_BIO).then(|| "similar bio".to_owned())
}

/// "similar level" above [`SIMILAR_LEVEL`].
pub fn skill(value: f64) -> Option<String> {
    (value >= SIMILAR_LEVEL).then(|| "similar level".to_owned())
}

/// "also wants a band" for the first shared goal.
pub fn goals(shared: Option<super::model::Goal>) -> Option<String> {
    use super::model::Goal;
    shared.map(|g| {
        match g {
            Goal::CasualJam => "also up for casual jams",
            Goal::Band => "also wants a band",
            Goal::SessionWork => "also does session work",
            Goal::Gigs => "also wants to gig",
        }
        .to_owned()
    })
}

/// "about 12 ms away (±4)", "9 ms away (measured)".
pub fn latency(e: &LatencyEstimate) -> String {
    let ms = e.one_way_ms.round();
    match e.source {
        LatencySource::MeasuredPair => format!("{ms:.0} ms away (measured)"),
        LatencySource::MeasuredNetworks | LatencySource::Distance => {
            format!("about {ms:.0} ms away (±{:.0})", e.uncertainty_ms.ceil())
        }
    }
}

/// "about 8 km away".
pub fn distance(km: f64) -> String {
    if km < 1.0 {
        "less than 1 km away".to_owned()
    } else {
        format!("about {:.0} km away", km)
    }
}

/// "you played together before (5/5)" / "played with 2 of your jam partners".
pub fn cojam(direct: Option<f64>, via: u32) -> Option<String> {
    match (direct, via) {
        (Some(r), _) if r >= 3.5 => Some(format!("you played together before ({r:.0}/5)")),
        (Some(_), _) => None,
        (None, 0) => None,
        (None, 1) => Some("played with one of your jam partners".to_owned()),
        (None, n) => Some(format!("played with {n} of your jam partners")),
    }
}

/// "never missed a jam (12)" after at least five jams and no no-show.
pub fn reliability(attended: u32, no_shows: u32) -> Option<String> {
    (attended >= 5 && no_shows == 0).then(|| format!("never missed a jam ({attended})"))
}

/// At least this much shared time is worth mentioning, minutes per week.
pub const WORTH_MENTIONING_MIN: u32 = 60;

/// "free Tuesday evenings": the longest shared window's start, in the seeker's local time.
pub fn availability(
    minutes: u32,
    longest: Option<(u32, u32)>,
    seeker_offset_min: i16,
) -> Option<String> {
    let (start, _) = longest?;
    if minutes < WORTH_MENTIONING_MIN {
        return None;
    }
    let local = (i64::from(start) + i64::from(seeker_offset_min)).rem_euclid(i64::from(WEEK_MIN));
    let day = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][(local / 1440) as usize % 7];
    let part = match (local % 1440) / 60 {
        5..=11 => "mornings",
        12..=16 => "afternoons",
        17..=21 => "evenings",
        _ => "nights",
    };
    Some(format!("free {day} {part}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(factor: Factor, contribution: f64, note: Option<&str>) -> FactorScore {
        FactorScore {
            factor,
            value: contribution,
            weight: 1.0,
            contribution,
            note: note.map(str::to_owned),
        }
    }

    #[test]
    fn reason_reads_like_the_issue_example() {
        let b = [
            score(Factor::Availability, 0.05, Some("free Tuesday evenings")),
            score(Factor::Latency, 0.02, Some("about 12 ms away (±4)")),
            score(Factor::Genres, 0.10, Some("4 shared genres")),
            score(
                Factor::Instruments,
                0.30,
                Some("plays bass, which you are looking for"),
            ),
            score(Factor::Skill, 0.01, Some("similar level")),
            score(Factor::Bio, 0.2, None),
        ];
        assert_eq!(
            reason(&b),
            "plays bass, which you are looking for · 4 shared genres · about 12 ms away (±4) · \
             free Tuesday evenings"
        );
    }

    #[test]
    fn phrases() {
        // Berlin (UTC+1): a window starting Tuesday 18:00 UTC is Tuesday 19:00 local.
        let tue_18 = 1440 + 18 * 60;
        assert_eq!(
            availability(120, Some((tue_18, tue_18 + 120)), 60).as_deref(),
            Some("free Tuesday evenings")
        );
        // Sunday 23:30 UTC in UTC+2 is Monday 01:30: the day wraps.
        let sun = 6 * 1440 + 23 * 60 + 30;
        assert_eq!(
            availability(90, Some((sun, sun + 90)), 120).as_deref(),
            Some("free Monday nights")
        );
        assert_eq!(availability(30, Some((0, 30)), 0), None);
        assert_eq!(genres(1, Some("jazz")).as_deref(), Some("also likes jazz"));
        assert_eq!(genres(4, Some("jazz")).as_deref(), Some("4 shared genres"));
        assert_eq!(
            cojam(None, 2).as_deref(),
            Some("played with 2 of your jam partners")
        );
        assert_eq!(cojam(Some(2.0), 3), None);
        assert_eq!(distance(7.6), "about 8 km away");
    }
}

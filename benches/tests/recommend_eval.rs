//! The recommender evaluation on a small population: it runs, is deterministic, and ours meets
//! the targets (beats every baseline on NDCG@10, ≥ 95% of online recommendations within
//! 25 ms of true latency).

use tutti_bench::recommend_eval::{EvalConfig, evaluate, verdicts};

#[test]
fn small_population_meets_the_targets_deterministically() {
    let config = EvalConfig {
        members: 800,
        max_users: 150,
        ..EvalConfig::default()
    };
    let report = evaluate(&config);
    assert!(report.users > 50, "{} users", report.users);
    assert!(report.bands > 10);
    for (what, met) in verdicts(&report) {
        assert!(met, "{what}");
    }
    let again = evaluate(&config);
    for (a, b) in report.methods.iter().zip(&again.methods) {
        assert_eq!(a.ndcg_at_k, b.ndcg_at_k, "{}", a.method);
        assert_eq!(a.coverage, b.coverage, "{}", a.method);
    }
}

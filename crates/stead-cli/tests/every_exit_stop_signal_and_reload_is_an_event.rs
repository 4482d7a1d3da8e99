//! `stead events` tells the whole story: every exit is an `exited` event with its status and
//! what follows — also one that comes after a long run and is restarted at once, which shows
//! no state of its own —, a stop is `stopping` then `stopped` with its cause, a signal sent on
//! request is `signal`, and a reload records what it added, removed and changed.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

fn events(h: &Harness) -> Vec<serde_json::Value> {
    let o = h.stead(&["events", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn has(evs: &[serde_json::Value], program: &str, kind: &str, detail: &str) -> bool {
    evs.iter().any(|e| {
        e["program"] == program
            && e["kind"] == kind
            && e["detail"].as_str().is_some_and(|d| d.contains(detail))
    })
}

#[test]
fn every_exit_stop_signal_and_reload_is_an_event() {
    let mut h = Harness::new("events-all");
    let base = "[program.cycle]\ncommand = [\"sh\", \"-c\", \"sleep 0.3; exit 3\"]\nbackoff = { reset_after = \"100ms\" }\nmax_restarts = 0\n\
                [program.steady]\ncommand = [\"sh\", \"-c\", \"trap \\\"\\\" HUP; exec sleep 1000\"]\n";
    h.write_config(base);
    h.up();
    h.wait_for("cycle to exit twice", Duration::from_secs(10), |h| {
        events(h)
            .iter()
            .filter(|e| e["program"] == "cycle" && e["kind"] == "exited")
            .count()
            >= 2
    });
    let evs = events(&h);
    assert!(
        has(&evs, "cycle", "exited", "exited with code 3 after")
            && has(&evs, "cycle", "exited", "restarting at once"),
        "{evs:#?}"
    );
    let o = h.stead(&["signal", "HUP", "steady"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = h.stead(&["stop", "steady"]);
    assert!(o.status.success(), "{}", text(&o));
    h.write_config(&format!(
        "{}[program.extra]\ncommand = [\"sleep\", \"1000\"]\n",
        base.replace("sleep 0.3", "sleep 0.4")
    ));
    assert!(h.stead(&["reload"]).status.success());
    let evs = events(&h);
    assert!(has(&evs, "steady", "signal", "HUP sent"), "{evs:#?}");
    assert!(has(&evs, "steady", "stopping", ""), "{evs:#?}");
    assert!(
        has(&evs, "steady", "stopped", "stopped by request"),
        "{evs:#?}"
    );
    assert!(
        has(&evs, "steady", "exited", "killed by signal TERM"),
        "the stop's exit is recorded with its status: {evs:#?}"
    );
    assert!(has(&evs, "extra", "added", "reload"), "{evs:#?}");
    assert!(has(&evs, "cycle", "changed", "reload"), "{evs:#?}");
    assert!(has(&evs, "", "reloaded", "1 added"), "{evs:#?}");
}

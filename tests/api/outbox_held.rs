//! A rule's reply is leased to the dispatcher as it is queued only when its channel may send
//! now: behind a platform's `Retry-After` it waits in the outbox for the claim, which keeps
//! the promise, and goes out once.

use std::time::Duration;

use crate::automation::{create_rule, number, wait_for};
use crate::common::*;
use crate::outbox::{IG, IG_TOKEN, Sim, connect, ig_comment, thanks_rule};
use serde_json::json;
use unibox::simulate::Faults;

const WAIT_SECONDS: u64 = 3;

async fn held_channel_scenario(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    create_rule(s, thanks_rule()).await;
    // The first reply is answered 429 with a Retry-After.
    sim.world.set_faults(Faults {
        rate_limit_rate: 1.0,
        retry_after_seconds: WAIT_SECONDS,
        ..Faults::default()
    });
    s.ingest(json!([ig_comment(
        "1790000000000201",
        "lisa",
        "I love this"
    )]))
    .await;
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'failed'", 1).await;
    let told = std::time::Instant::now();
    sim.world.set_faults(Faults::default());

    // The next reply, on the held channel, is queued, not leased and called at once.
    s.ingest(json!([ig_comment("1790000000000202", "bob", "I love it")]))
        .await;
    assert_eq!(
        number(
            s,
            "SELECT COUNT(*) FROM outbox WHERE state = 'queued' AND attempts = 0 \
             AND lease_until IS NULL AND in_doubt = FALSE",
        )
        .await,
        1
    );
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'", 2).await;
    assert!(
        told.elapsed() >= Duration::from_secs(WAIT_SECONDS - 1),
        "sent {:?} after the 429",
        told.elapsed()
    );
    let replies = sim.writes("reply");
    assert_eq!(replies["1790000000000201"].len(), 1, "{replies:?}");
    assert_eq!(replies["1790000000000202"].len(), 1, "{replies:?}");
    assert_eq!(sim.world.violations(), Vec::<String>::new());
}

simulated_on_both_backends! {
    held_channel(s, sim) with sim.config() => held_channel_scenario(&s, &sim);
}

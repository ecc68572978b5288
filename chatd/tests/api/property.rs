//! Random deltas through the whole path: fake upstream chunks → chatd's chunk parser →
//! SSE framing → a spec-conforming parser. What the client reconstructs equals the
//! concatenated deltas (line breaks normalised to `\n`, NUL dropped) and equals what was stored.
//! The generator is seeded, so a failure names a case that can be run again.

use crate::support::{FakeUpstream, Upstream, daemon_for, read_events, reply_text};

/// A small xorshift generator: deterministic, no dependency (the import fuzzing of
/// `archive.rs` uses it too).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PIECES: &[&str] = &[
    "",
    " ",
    "  ",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    "data: ",
    ":",
    "event: x",
    "a",
    "word",
    " sky",
    "中文",
    "😀",
    "é",
    "\u{301}",
    "\t",
    "[DONE]",
    "{\"json\": 1}",
    "\u{2028}",
    "\u{0}",
];

fn random_delta(rng: &mut Rng) -> String {
    let parts = rng.below(4);
    (0..parts)
        .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
        .collect()
}

async fn any_deltas_reach_the_client_and_the_store_unchanged() {
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let count = 1 + rng.below(30);
        let mut deltas: Vec<String> = (0..count).map(|_| random_delta(&mut rng)).collect();
        // At least one visible character, so the reply is never empty.
        deltas.push("end".into());
        let expected = deltas
            .concat()
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .replace('\0', "");

        let upstream = FakeUpstream::start(Upstream::Stream {
            tokens: deltas.clone(),
            delay: std::time::Duration::ZERO,
            // Half of them end the way older llama.cpp builds do: no `[DONE]`.
            finish_reason: Some("stop"),
            done: seed % 2 == 0,
        })
        .await;
        let chatd = daemon_for(&upstream, &[]).await;
        let id = chatd.conversation().await;
        let events = read_events(chatd.chat(id, "go").await).await;
        let streamed = reply_text(&events);
        assert_eq!(streamed, expected, "seed {seed}: deltas {deltas:?}");
        assert!(
            events.iter().all(|e| !e.data.is_empty()),
            "seed {seed}: no empty events"
        );
        let messages = chatd.messages(id).await;
        assert_eq!(messages[1]["content"], expected.as_str(), "seed {seed}");
        assert_eq!(messages[1]["status"], "complete", "seed {seed}");
    }
}

crate::on_both_backends!(any_deltas_reach_the_client_and_the_store_unchanged,);

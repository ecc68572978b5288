//! Full-text search, the part that is the same on both backends: reading a query in
//! chatd's own small syntax ([`query`]) and cutting the snippet shown for a hit with its
//! highlights ([`snippet`]), and ranking the newest matches a backend found
//! ([`rank`]). The SQL of each backend is in `store/search.rs`.
//!
//! Nothing a user types reaches FTS5 or `tsquery` syntax: every term is a literal,
//! quoted into an FTS5 string or handed to `plainto_tsquery`/`phraseto_tsquery` as a
//! bound value, so a stray quote, `*`, `NEAR`, `:` or `&|!` is only text.

pub mod query;
pub mod rank;
pub mod snippet;

pub use query::{Query, Term};
pub use snippet::{Highlight, Snippet, snippet};

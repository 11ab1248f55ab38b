//! newsvault: a news feed crawler and archiver. It polls RSS, Atom and JSON feeds on cron
//! schedules, fetches every new article, and archives the raw HTML and the extracted text
//! into SQLite, storing each story once.
//!
//! The library is the whole program; `main.rs` only wires it to the command line. Pure
//! code sits in the middle (`config`, `schedule`, `feed`, `extract`, `canon`, `stories`),
//! each side effect has one owner at the edge (`fetch` for HTTP, `store` for SQL, `clock`
//! for time), and `pipeline`, `scheduler` and `app` connect them.

pub mod app;
pub mod backfill;
pub mod canon;
pub mod cli;
pub mod clock;
pub mod compact;
pub mod config;
pub mod cpu_pool;
pub mod discover;
pub mod export;
pub mod extract;
pub mod feed;
pub mod fetch;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod opml;
pub mod pipeline;
pub mod progress;
pub mod reparse;
pub mod robots;
pub mod schedule;
pub mod scheduler;
pub mod service;
pub mod shutdown;
pub mod sitemap;
pub mod store;
pub mod stories;
pub mod versions;

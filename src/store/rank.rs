//! Relevance for `search` on SQLite: FTS5's bm25, with each phrase's match count bounded.
//!
//! Before FTS5's built-in `bm25()` scores the first row of a query, it counts every row
//! that contains each phrase of the query, for the phrase's inverse document frequency
//! (IDF). For a word found in most of a million articles that count reads the word's whole
//! posting list, tens of megabytes: most of a broad search's time, and from a cold page
//! cache most of its disk reads (docs/performance-log.md, "Growth"). `newsvault_bm25()` is
//! the same function except for that count. It counts matches oldest first and stops at
//! the limit it was registered with (the store gives it as many as a search ranks, 5,000,
//! so a phrase costs at most what the ranking does); a phrase with more is estimated from
//! how much of the archive's rowid range (its arrival order) those first matches span. So:
//!
//! - a query whose phrases each match at most that many rows scores exactly as `bm25()`
//!   does;
//! - a query of one phrase is ordered exactly as by `bm25()` whatever its count, since the
//!   IDF scales every row's score alike;
//! - only the balance between the phrases of a query of several common ones rests on the
//!   estimate. A word whose use changed over time (common early, rare later) is
//!   estimated from its early use.
//!
//! SQL: `newsvault_bm25(articles_fts, first_rowid, last_rowid, title_weight, text_weight)`,
//! where the rowids bound the table (`min(id)` and `max(id)` of `articles`, which the
//! full-text index mirrors). SQLite offers such functions only through its C interface
//! (`fts5_api`), which rusqlite does not wrap: this module owns that interface and keeps
//! its `unsafe` within [`Fts5`] and the two callbacks.

use std::ffi::{c_int, c_void};
use std::ptr;

use rusqlite::Connection;
use rusqlite::ffi::{
    self, Fts5Context, Fts5ExtensionApi, SQLITE_DONE, SQLITE_ERROR, SQLITE_OK, sqlite3_context,
    sqlite3_value,
};

/// bm25's constants, as FTS5 has them.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// The IDF FTS5 gives a phrase found in half the rows or more (its formula turns
/// negative there).
const MIN_IDF: f64 = 1e-6;

/// Registers `newsvault_bm25` on `conn`, counting at most `counted_matches` rows of each
/// phrase.
pub(super) fn register(conn: &Connection, counted_matches: i64) -> Result<(), String> {
    // SAFETY: the handle stays valid while `conn` lives, and this runs on its thread.
    unsafe {
        let db = conn.handle();
        let api = fts5_api(db)?;
        let create = (*api)
            .xCreateFunction
            .ok_or("this SQLite's FTS5 cannot register functions")?;
        let limit = Box::into_raw(Box::new(counted_matches.max(1)));
        let rc = create(
            api,
            c"newsvault_bm25".as_ptr(),
            limit.cast(),
            Some(score_row),
            Some(drop_limit),
        );
        if rc != SQLITE_OK {
            // FTS5 does not take ownership when it fails.
            drop(Box::from_raw(limit));
            return Err(format!("cannot register newsvault_bm25 (SQLite code {rc})"));
        }
    }
    Ok(())
}

/// FTS5's function table for `db`, which SQLite hands out through a bound pointer.
///
/// # Safety
/// `db` must be an open connection, used only by this thread meanwhile.
unsafe fn fts5_api(db: *mut ffi::sqlite3) -> Result<*mut ffi::fts5_api, String> {
    let mut stmt = ptr::null_mut();
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    // SAFETY: the statement is finalized on every path, and `api` outlives it.
    unsafe {
        let rc = ffi::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        );
        if rc != SQLITE_OK {
            ffi::sqlite3_finalize(stmt);
            return Err(format!("this SQLite has no FTS5 (SQLite code {rc})"));
        }
        ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&raw mut api).cast(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        ffi::sqlite3_step(stmt);
        let rc = ffi::sqlite3_finalize(stmt);
        if rc != SQLITE_OK || api.is_null() {
            return Err(format!("cannot reach FTS5's interface (SQLite code {rc})"));
        }
        // Version 2 added xCreateFunction's present form (SQLite 3.20).
        if (*api).iVersion < 2 {
            return Err("this SQLite's FTS5 is too old".into());
        }
    }
    Ok(api)
}

unsafe extern "C" fn drop_limit(limit: *mut c_void) {
    // SAFETY: the pointer is the Box that `register` gave FTS5, freed once, here.
    unsafe { drop(Box::from_raw(limit.cast::<i64>())) }
}

/// What one query's rows share: computed for its first row, kept by FTS5 until the query
/// ends (its "auxiliary data").
struct QueryStats {
    /// Average tokens per row, all columns together.
    average_length: f64,
    /// Per phrase.
    idf: Vec<f64>,
}

unsafe extern "C" fn drop_stats(stats: *mut c_void) {
    // SAFETY: the pointer is the Box that `query_stats` gave FTS5, freed once, here.
    unsafe { drop(Box::from_raw(stats.cast::<QueryStats>())) }
}

/// The SQL function: one row's score, lower is better (bm25's sign in SQLite).
unsafe extern "C" fn score_row(
    api: *const Fts5ExtensionApi,
    fts: *mut Fts5Context,
    ctx: *mut sqlite3_context,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) {
    // SAFETY: FTS5 passes its function table, the query's context and `argc` arguments,
    // all valid for this call, which is as long as `fts` and `args` live.
    let (fts, args) = unsafe {
        let args = match usize::try_from(argc) {
            Ok(n) if n > 0 && !argv.is_null() => std::slice::from_raw_parts(argv.cast_const(), n),
            _ => &[],
        };
        (
            Fts5 {
                api: &*api,
                ctx: fts,
            },
            Args(args),
        )
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| score(&fts, &args)))
        .unwrap_or(Err(Failure::Usage("newsvault_bm25: internal error")));
    // SAFETY: `ctx` is this call's result context.
    unsafe {
        match outcome {
            Ok(score) => ffi::sqlite3_result_double(ctx, score),
            Err(Failure::Sqlite(rc)) => ffi::sqlite3_result_error_code(ctx, rc),
            Err(Failure::Usage(message)) => {
                ffi::sqlite3_result_error(ctx, message.as_ptr().cast(), message.len() as c_int)
            }
        }
    }
}

/// The function's arguments after the table, valid for the call they came with.
struct Args<'a>(&'a [*mut sqlite3_value]);

impl Args<'_> {
    fn integer(&self, i: usize) -> Option<i64> {
        // SAFETY: the values are the current call's arguments (see `score_row`).
        self.0
            .get(i)
            .map(|&v| unsafe { ffi::sqlite3_value_int64(v) })
    }

    fn real(&self, i: usize) -> Option<f64> {
        // SAFETY: as for `integer`.
        self.0
            .get(i)
            .map(|&v| unsafe { ffi::sqlite3_value_double(v) })
    }
}

enum Failure {
    /// An FTS5 call failed with this code.
    Sqlite(c_int),
    /// The function was called wrongly, or failed (a panic caught).
    Usage(&'static str),
}

/// Arguments: the table's first and last rowid, then a weight per column (1 where none).
fn score(fts: &Fts5, args: &Args) -> Result<f64, Failure> {
    let (Some(first_rowid), Some(last_rowid)) = (args.integer(0), args.integer(1)) else {
        return Err(Failure::Usage(
            "newsvault_bm25(table, first_rowid, last_rowid, weight...) needs the table's first and last rowid",
        ));
    };
    let stats = query_stats(fts, first_rowid, last_rowid)?;
    let mut frequency = vec![0.0; stats.idf.len()];
    for i in 0..fts.instance_count()? {
        let (phrase, column) = fts.instance(i)?;
        let weight = args.real(2 + column).unwrap_or(1.0);
        if let Some(f) = frequency.get_mut(phrase) {
            *f += weight;
        }
    }
    let length = f64::from(fts.row_length()?);
    let norm = K1 * (1.0 - B + B * length / stats.average_length);
    let score: f64 = frequency
        .iter()
        .zip(&stats.idf)
        .map(|(f, idf)| idf * (f * (K1 + 1.0)) / (f + norm))
        .sum();
    Ok(-score)
}

/// The query's shared figures: taken from FTS5's auxiliary data, or computed and stored
/// there on the query's first row.
fn query_stats<'a>(
    fts: &'a Fts5,
    first_rowid: i64,
    last_rowid: i64,
) -> Result<&'a QueryStats, Failure> {
    if let Some(stats) = fts.aux_data() {
        return Ok(stats);
    }
    let rows = fts.row_count()?.max(1);
    let average_length = fts.total_tokens()? as f64 / rows as f64;
    let limit = fts.counted_matches()?;
    let mut idf = Vec::new();
    for phrase in 0..fts.phrase_count()? {
        let count = fts.count_matches(phrase, limit)?;
        let matches = estimated_matches(&count, first_rowid, last_rowid, rows);
        let value = ((rows as f64 - matches + 0.5) / (matches + 0.5)).ln();
        idf.push(if value > 0.0 { value } else { MIN_IDF });
    }
    fts.set_aux_data(QueryStats {
        average_length,
        idf,
    })
}

/// Matches of one phrase, oldest first, counted up to a limit.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MatchCount {
    limit: i64,
    /// Matches seen: at most `limit + 1`.
    seen: i64,
    /// The rowid of the last one seen.
    last_rowid: i64,
}

/// How many rows match a phrase: exact if counting did not stop early; otherwise the
/// matches seen, scaled by the share of the table's rowid range they span. Never fewer
/// than were seen nor more than the table's rows.
fn estimated_matches(count: &MatchCount, first_rowid: i64, last_rowid: i64, rows: i64) -> f64 {
    if count.seen <= count.limit {
        return count.seen as f64;
    }
    let spanned = count
        .last_rowid
        .saturating_sub(first_rowid)
        .saturating_add(1);
    let table = last_rowid.saturating_sub(first_rowid).saturating_add(1);
    let seen = count.seen as f64;
    let estimate = seen * table.max(1) as f64 / spanned.max(1) as f64;
    estimate.clamp(seen, (rows as f64).max(seen))
}

/// FTS5's callback for each row of a counted phrase.
unsafe extern "C" fn count_match(
    api: *const Fts5ExtensionApi,
    fts: *mut Fts5Context,
    count: *mut c_void,
) -> c_int {
    // SAFETY: `count` is the MatchCount that `count_matches` passed along, alive for the
    // whole count; `api` and `fts` are FTS5's for this row.
    unsafe {
        let count = &mut *count.cast::<MatchCount>();
        count.seen += 1;
        if count.seen > count.limit {
            if let Some(rowid) = (*api).xRowid {
                count.last_rowid = rowid(fts);
            }
            // Stops the count; FTS5 reports it as success.
            return SQLITE_DONE;
        }
        SQLITE_OK
    }
}

/// The FTS5 interface for one call: the function table and the query's context. Every
/// entry of the table is optional in the bindings; a missing one is an error, not a crash.
struct Fts5<'a> {
    api: &'a Fts5ExtensionApi,
    ctx: *mut Fts5Context,
}

fn check(rc: c_int) -> Result<(), Failure> {
    if rc == SQLITE_OK {
        Ok(())
    } else {
        Err(Failure::Sqlite(rc))
    }
}

const MISSING: Failure = Failure::Sqlite(SQLITE_ERROR);

// SAFETY (every method): `ctx` is the context FTS5 passed to this call, and each entry is
// called as FTS5's documentation says, with out-pointers to locals.
impl Fts5<'_> {
    fn row_count(&self) -> Result<i64, Failure> {
        let f = self.api.xRowCount.ok_or(MISSING)?;
        let mut rows = 0;
        check(unsafe { f(self.ctx, &mut rows) })?;
        Ok(rows)
    }

    /// Tokens in the whole table, all columns.
    fn total_tokens(&self) -> Result<i64, Failure> {
        let f = self.api.xColumnTotalSize.ok_or(MISSING)?;
        let mut tokens = 0;
        check(unsafe { f(self.ctx, -1, &mut tokens) })?;
        Ok(tokens)
    }

    fn phrase_count(&self) -> Result<usize, Failure> {
        let f = self.api.xPhraseCount.ok_or(MISSING)?;
        usize::try_from(unsafe { f(self.ctx) }).map_err(|_| MISSING)
    }

    fn instance_count(&self) -> Result<usize, Failure> {
        let f = self.api.xInstCount.ok_or(MISSING)?;
        let mut count = 0;
        check(unsafe { f(self.ctx, &mut count) })?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// The phrase and the column of the current row's `i`th match.
    fn instance(&self, i: usize) -> Result<(usize, usize), Failure> {
        let f = self.api.xInst.ok_or(MISSING)?;
        let (mut phrase, mut column, mut offset) = (0, 0, 0);
        let i = c_int::try_from(i).map_err(|_| MISSING)?;
        check(unsafe { f(self.ctx, i, &mut phrase, &mut column, &mut offset) })?;
        let index = |v: c_int| usize::try_from(v).map_err(|_| MISSING);
        Ok((index(phrase)?, index(column)?))
    }

    /// Tokens in the current row, all columns.
    fn row_length(&self) -> Result<c_int, Failure> {
        let f = self.api.xColumnSize.ok_or(MISSING)?;
        let mut tokens = 0;
        check(unsafe { f(self.ctx, -1, &mut tokens) })?;
        Ok(tokens)
    }

    /// The limit `register` gave this function.
    fn counted_matches(&self) -> Result<i64, Failure> {
        let f = self.api.xUserData.ok_or(MISSING)?;
        // SAFETY: the user data is the i64 Box from `register`, alive while the function
        // is registered.
        unsafe { f(self.ctx).cast::<i64>().as_ref().copied() }.ok_or(MISSING)
    }

    fn count_matches(&self, phrase: usize, limit: i64) -> Result<MatchCount, Failure> {
        let f = self.api.xQueryPhrase.ok_or(MISSING)?;
        let phrase = c_int::try_from(phrase).map_err(|_| MISSING)?;
        let mut count = MatchCount {
            limit,
            seen: 0,
            last_rowid: 0,
        };
        check(unsafe { f(self.ctx, phrase, (&raw mut count).cast(), Some(count_match)) })?;
        Ok(count)
    }

    fn aux_data(&self) -> Option<&QueryStats> {
        let f = self.api.xGetAuxdata?;
        // SAFETY: the only auxiliary data this function sets is a QueryStats, which FTS5
        // keeps until the query ends, past this call.
        unsafe { f(self.ctx, 0).cast::<QueryStats>().as_ref() }
    }

    fn set_aux_data(&self, stats: QueryStats) -> Result<&QueryStats, Failure> {
        let f = self.api.xSetAuxdata.ok_or(MISSING)?;
        let raw = Box::into_raw(Box::new(stats));
        // On failure FTS5 frees the pointer itself, through drop_stats.
        check(unsafe { f(self.ctx, raw.cast(), Some(drop_stats)) })?;
        // SAFETY: FTS5 now owns the Box and keeps it until the query ends.
        Ok(unsafe { &*raw })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table like `articles_fts` (title, text), with `newsvault_bm25` counting at most
    /// `limit` matches of a phrase.
    fn table(limit: i64, rows: &[(i64, &str, &str)]) -> Connection {
        let conn = Connection::open_in_memory().expect("opens");
        register(&conn, limit).expect("registers");
        conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5(title, text, prefix = '3')")
            .expect("creates");
        for (rowid, title, text) in rows {
            conn.execute(
                "INSERT INTO t (rowid, title, text) VALUES (?1, ?2, ?3)",
                (rowid, title, text),
            )
            .expect("inserts");
        }
        conn
    }

    /// (rowid, bm25, newsvault_bm25) for each match of `query`, rowid order.
    fn scores(conn: &Connection, query: &str) -> Vec<(i64, f64, f64)> {
        let mut stmt = conn
            .prepare(
                "SELECT rowid, bm25(t, 5.0, 1.0),
                     newsvault_bm25(t, (SELECT min(rowid) FROM t), (SELECT max(rowid) FROM t),
                         5.0, 1.0)
                 FROM t WHERE t MATCH ?1 ORDER BY rowid",
            )
            .expect("prepares");
        stmt.query_map([query], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("queries")
            .collect::<Result<_, _>>()
            .expect("reads")
    }

    /// Text with words drawn from a small vocabulary, so that phrases are found in
    /// different numbers of rows and with different frequencies.
    fn varied_rows(n: i64) -> Vec<(i64, String, String)> {
        let words = [
            "alpha",
            "beta",
            "gamma",
            "delta",
            "alphabet",
            "ঢাকা",
            "বাজেট",
            "rain",
            "mango",
        ];
        let mut state = 7u64;
        let mut next = move |m: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as usize) % m
        };
        (1..=n)
            .map(|rowid| {
                let title: Vec<&str> = (0..1 + next(3)).map(|_| words[next(words.len())]).collect();
                let text: Vec<&str> = (0..5 + next(40))
                    .map(|_| words[next(words.len())])
                    .collect();
                (rowid, title.join(" "), text.join(" "))
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn scores_as_bm25_when_every_phrase_is_counted() {
        let rows = varied_rows(300);
        let rows: Vec<(i64, &str, &str)> = rows
            .iter()
            .map(|(r, t, x)| (*r, t.as_str(), x.as_str()))
            .collect();
        let conn = table(5_000, &rows);
        for query in [
            "alpha",
            "alpha beta",
            "mango OR rain",
            "\"alpha beta\"",
            "alp*",
            "title: gamma",
            "NEAR(delta rain, 3)",
            "beta NOT delta",
            "ঢাকা বাজেট",
        ] {
            let scores = scores(&conn, query);
            assert!(!scores.is_empty(), "{query} matches");
            for (rowid, bm25, ours) in scores {
                assert!(
                    close(bm25, ours),
                    "{query}, row {rowid}: bm25 {bm25}, newsvault_bm25 {ours}"
                );
            }
        }
    }

    #[test]
    fn a_phrase_past_the_limit_is_estimated_from_its_oldest_matches() {
        // 1,000 rows: "steady" in every fourth (250 rows, evenly spread); "early" in each
        // of the first 100 rows and in every 50th after (118 rows), one to three times.
        let texts: Vec<(i64, String)> = (1..=1000)
            .map(|rowid| {
                let mut text = format!("row {rowid} filler words");
                if rowid % 4 == 0 {
                    text.push_str(" steady");
                }
                if rowid <= 100 || rowid % 50 == 0 {
                    text.push_str(&" early".repeat(1 + (rowid % 3) as usize));
                }
                (rowid, text)
            })
            .collect();
        let rows: Vec<(i64, &str, &str)> =
            texts.iter().map(|(r, t)| (*r, "", t.as_str())).collect();
        let conn = table(10, &rows);

        // Evenly spread: the 11th match is row 44, 11 matches in 44 of 1,000 rowids make
        // 250, the exact count, so the scores are bm25's.
        let steady = scores(&conn, "steady");
        assert_eq!(steady.len(), 250);
        assert!(steady.iter().all(|(_, bm25, ours)| close(*bm25, *ours)));

        // Bursty: the 11 matches seen span 11 rowids, which estimates every row, and a
        // phrase in half the rows or more gets FTS5's floor IDF. Had the count gone on to
        // the end, its 118 matches over all 1,000 rowids would have given bm25's own IDF.
        let rows = 1000.0_f64;
        let exact_idf = ((rows - 118.0 + 0.5) / (118.0 + 0.5)).ln();
        let early = scores(&conn, "early");
        assert_eq!(early.len(), 118);
        for (rowid, bm25, ours) in &early {
            assert!(
                close(ours / bm25, MIN_IDF / exact_idf),
                "row {rowid}: bm25 {bm25}, newsvault_bm25 {ours}"
            );
        }
        // One phrase: the same order as bm25's, though the scores differ.
        let order = |by_bm25: bool| {
            let mut rows = early.clone();
            rows.sort_by(|a, b| {
                let (x, y) = if by_bm25 { (a.1, b.1) } else { (a.2, b.2) };
                x.total_cmp(&y).then(a.0.cmp(&b.0))
            });
            rows.into_iter().map(|r| r.0).collect::<Vec<_>>()
        };
        assert_eq!(order(true), order(false));
    }

    #[test]
    fn estimates_stay_within_what_was_seen_and_the_table() {
        let stopped = |seen, last_rowid| MatchCount {
            limit: seen - 1,
            seen,
            last_rowid,
        };
        // Counted to the end: exact.
        let whole = MatchCount {
            limit: 10,
            seen: 7,
            last_rowid: 90,
        };
        assert_eq!(estimated_matches(&whole, 1, 1000, 1000), 7.0);
        // 11 matches in the first 110 of 1,000 rowids: 100.
        assert_eq!(estimated_matches(&stopped(11, 110), 1, 1000, 1000), 100.0);
        // The table starts at rowid 501: 11 in 110 of 500 rowids.
        assert_eq!(estimated_matches(&stopped(11, 610), 501, 1000, 500), 50.0);
        // Never more than the table's rows (rowids freed by deletions), nor fewer than
        // were seen (bounds that do not cover the matches).
        assert_eq!(estimated_matches(&stopped(11, 11), 1, 1000, 600), 600.0);
        assert_eq!(estimated_matches(&stopped(11, 5000), 1, 1000, 1000), 11.0);
    }

    #[test]
    fn a_call_without_the_rowid_bounds_is_an_error_that_names_the_function() {
        let conn = table(5_000, &[(1, "a title", "some text")]);
        let error = conn
            .query_row(
                "SELECT newsvault_bm25(t) FROM t WHERE t MATCH 'text'",
                [],
                |r| r.get::<_, f64>(0),
            )
            .expect_err("fails");
        assert!(error.to_string().contains("newsvault_bm25"), "{error}");
    }
}

//! The POP journal (ADR 020): `pop/journal.log` under the store's config
//! directory, one JSON [`Record`] per line, written before the change it
//! records is applied or answered. Opening replays it into a [`PopState`]
//! and rewrites it as the snapshot of that state (`journal.tmp`, fsync,
//! rename), so the file stays proportional to what is in flight; it is
//! also compacted at run time once it holds [`COMPACT_AFTER`] records.
//!
//! A line that does not parse (the torn last write of a crash) is skipped
//! and counted; replay never fails on content, only on I/O.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::state::{PopState, Record};

/// Records after which the journal is rewritten as a snapshot.
pub const COMPACT_AFTER: u64 = 200_000;

/// The append-only record file.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    file: File,
    written: u64,
}

/// What opening found.
#[derive(Debug)]
pub struct Replayed {
    /// The journal, compacted and open for appends.
    pub journal: Journal,
    /// The state it describes.
    pub state: PopState,
    /// Lines that did not parse (skipped).
    pub skipped: usize,
}

fn journal_path(dir: &Path) -> PathBuf {
    dir.join("journal.log")
}

impl Journal {
    /// Replays and compacts the journal in `dir` (created if missing).
    pub fn open(dir: &Path) -> io::Result<Replayed> {
        fs::create_dir_all(dir)?;
        let path = journal_path(dir);
        let mut state = PopState::default();
        let mut skipped = 0;
        if let Ok(f) = File::open(&path) {
            for line in BufReader::new(f).split(b'\n') {
                let line = line?;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<Record>(&line) {
                    Ok(r) => {
                        state.apply(&r);
                    }
                    Err(_) => skipped += 1,
                }
            }
        }
        let file = write_snapshot(dir, &state)?;
        Ok(Replayed {
            journal: Journal {
                dir: dir.to_owned(),
                file,
                written: 0,
            },
            state,
            skipped,
        })
    }

    /// Appends `r` (one `write` of the whole line: a crash leaves at most
    /// a torn last line, which replay skips).
    pub fn append(&mut self, r: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.written += 1;
        Ok(())
    }

    /// Whether the journal should be compacted now.
    pub fn wants_compaction(&self) -> bool {
        self.written >= COMPACT_AFTER
    }

    /// Rewrites the journal as the snapshot of `state`.
    pub fn compact(&mut self, state: &PopState) -> io::Result<()> {
        self.file = write_snapshot(&self.dir, state)?;
        self.written = 0;
        Ok(())
    }

    /// Forces written records to disk.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

fn write_snapshot(dir: &Path, state: &PopState) -> io::Result<File> {
    let tmp = dir.join("journal.tmp");
    {
        let mut f = File::create(&tmp)?;
        let mut buf = Vec::new();
        for r in state.snapshot() {
            serde_json::to_writer(&mut buf, &r).map_err(io::Error::other)?;
            buf.push(b'\n');
        }
        f.write_all(&buf)?;
        f.sync_all()?;
    }
    let path = journal_path(dir);
    fs::rename(&tmp, &path)?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    OpenOptions::new().append(true).open(path)
}

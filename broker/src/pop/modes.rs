//! Which request mode (PULL or POP) each (topic, group) is consumed in,
//! as `mqadmin setConsumeMode` sets it (SET_MESSAGE_REQUEST_MODE) and
//! QUERY_ASSIGNMENT reports it. Persisted on every change as
//! `messageRequestMode.json` in the POP directory (upstream's
//! `messageRequestModeMap` layout), temp file + rename.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One (topic, group)'s mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestMode {
    /// Topic.
    pub topic: String,
    /// Consumer group.
    pub consumer_group: String,
    /// `PULL` or `POP`.
    pub mode: String,
    /// Queues shared per POP consumer (0: every consumer pops every queue).
    pub pop_share_queue_num: i32,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    message_request_mode_map: BTreeMap<String, BTreeMap<String, RequestMode>>,
}

/// The persisted table.
#[derive(Debug)]
pub struct RequestModes {
    path: PathBuf,
    table: Mutex<File>,
}

impl RequestModes {
    /// Loads `dir/messageRequestMode.json` (empty when missing or unreadable).
    pub fn open(dir: &Path) -> RequestModes {
        let path = dir.join("messageRequestMode.json");
        let table = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        RequestModes {
            path,
            table: Mutex::new(table),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, File> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The mode of (`topic`, `group`), if set.
    pub fn get(&self, topic: &str, group: &str) -> Option<RequestMode> {
        self.lock()
            .message_request_mode_map
            .get(topic)?
            .get(group)
            .cloned()
    }

    /// Sets and persists a mode (persisted first: a failed write changes nothing).
    pub fn set(&self, m: RequestMode) -> io::Result<()> {
        let mut t = self.lock();
        let mut next: BTreeMap<_, _> = t.message_request_mode_map.clone();
        next.entry(m.topic.clone())
            .or_default()
            .insert(m.consumer_group.clone(), m);
        let file = File {
            message_request_mode_map: next,
        };
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&file).map_err(io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &self.path)?;
        *t = file;
        Ok(())
    }
}

//! Changes made through the broker (UPDATE_AND_CREATE_ACL_CONFIG,
//! DELETE_ACL_CONFIG, UPDATE_GLOBAL_WHITE_ADDRS_CONFIG), checked as
//! upstream's `PlainPermissionManager` checks them and written back to the
//! file with its `dataVersion` bumped. Remarks follow upstream's texts, except
//! that a secret key is never echoed.

use super::{perm, read, stamp, AccountConfig, AclFile, Compiled, DataVersion, PlainAcl};

/// Upstream's minimum: keys must be longer than 6 characters.
const MIN_KEY_LEN: usize = 6;

/// `Permission.checkResourcePerms`.
fn check_resource_perms(list: Option<&[String]>) -> Result<(), String> {
    for r in list.unwrap_or_default() {
        let items: Vec<&str> = r.split('=').filter(|s| !s.is_empty()).collect();
        let [_, p] = items[..] else {
            return Err(format!(
                "Parse Resource format error for {r}.\nThe expected resource format is 'Res=Perm'. For example: topicA=SUB"
            ));
        };
        if p.trim() != "DENY" && perm::parse(Some(p)) == perm::DENY {
            return Err(format!(
                "Parse resource permission error for {r}.\nThe expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or 'PUB|SUB'."
            ));
        }
    }
    Ok(())
}

/// Upstream's `createAclAccessConfigMap`: fields sent replace those stored,
/// fields not sent are kept (`admin` is always sent).
fn merge(into: &mut AccountConfig, new: AccountConfig) {
    let keep = |old: &mut Option<String>, new: Option<String>| {
        if new.as_deref().is_some_and(|s| !s.is_empty()) {
            *old = new;
        }
    };
    keep(&mut into.secret_key, new.secret_key);
    if new.white_remote_address.is_some() {
        into.white_remote_address = new.white_remote_address;
    }
    into.admin = new.admin;
    keep(&mut into.default_topic_perm, new.default_topic_perm);
    keep(&mut into.default_group_perm, new.default_group_perm);
    if new.topic_perms.is_some() {
        into.topic_perms = new.topic_perms;
    }
    if new.group_perms.is_some() {
        into.group_perms = new.group_perms;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl PlainAcl {
    /// Creates or updates an account.
    pub fn update_account(&self, new: AccountConfig) -> Result<(), String> {
        let sk_ok = new
            .secret_key
            .as_ref()
            .is_some_and(|s| s.len() > MIN_KEY_LEN);
        if new.access_key.len() <= MIN_KEY_LEN || !sk_ok {
            return Err(format!(
                "The accessKey={} and secretKey cannot be null and length should longer than 6",
                new.access_key
            ));
        }
        check_resource_perms(new.topic_perms.as_deref())?;
        check_resource_perms(new.group_perms.as_deref())?;
        self.edit(|file| {
            let accounts = file.accounts.get_or_insert_with(Vec::new);
            match accounts.iter_mut().find(|a| a.access_key == new.access_key) {
                Some(old) => merge(old, new),
                None => accounts.push(new),
            }
            true
        })
        .map(drop)
    }

    /// Deletes an account; false when there is none with that key.
    pub fn delete_account(&self, access_key: &str) -> Result<bool, String> {
        self.edit(|file| {
            let accounts = file.accounts.get_or_insert_with(Vec::new);
            let before = accounts.len();
            accounts.retain(|a| a.access_key != access_key);
            accounts.len() != before
        })
    }

    /// Replaces `globalWhiteRemoteAddresses`.
    pub fn set_global_white_list(&self, list: Vec<String>) -> Result<(), String> {
        self.edit(|file| {
            file.global_white_remote_addresses = Some(list);
            true
        })
        .map(drop)
    }

    /// The file as it is in force.
    pub fn config(&self) -> AclFile {
        self.state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .file
            .clone()
    }

    /// The file's `dataVersion`.
    pub fn version(&self) -> DataVersion {
        self.config()
            .data_version
            .and_then(|v| v.first().copied())
            .unwrap_or_default()
    }

    /// Applies `change` to the file as it is on disk (the accounts in force
    /// if it cannot be read), bumps `dataVersion`, checks the result, writes
    /// it and puts it in force. `Ok(false)`: `change` changed nothing.
    fn edit(&self, change: impl FnOnce(&mut AclFile) -> bool) -> Result<bool, String> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut file = read(&self.path).unwrap_or_else(|_| state.file.clone());
        if !change(&mut file) {
            return Ok(false);
        }
        let old = file
            .data_version
            .as_ref()
            .and_then(|v| v.first().copied())
            .unwrap_or_default();
        file.data_version = Some(vec![DataVersion {
            counter: old.counter + 1,
            timestamp: now_ms(),
        }]);
        let compiled = Compiled::build(file.clone())?;
        let yaml = serde_yaml::to_string(&file).map_err(|e| e.to_string())?;
        crate::security::write_atomically(&self.path, yaml.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        *state = compiled;
        self.watched.lock().unwrap_or_else(|e| e.into_inner()).1 = stamp(&self.path);
        Ok(true)
    }
}

//! DescribeConfigs (key 32), versions 0–4 (v4 flexible).
//!
//! ```text
//! request  resources [resource_type i8, resource_name str, configuration_keys nullable [str],
//!                     tags], include_synonyms bool (v1+), include_documentation bool (v3+), tags
//! response throttle_time_ms i32,
//!          results [error_code i16, error_message nstr, resource_type i8, resource_name str,
//!                   configs [name str, value nstr, read_only bool, is_default bool (v0),
//!                            config_source i8 (v1+), is_sensitive bool,
//!                            synonyms [name str, value nstr, source i8, tags] (v1+),
//!                            config_type i8 (v3+), documentation nstr (v3+), tags], tags], tags
//! ```

use super::{DecodeError, Reader, Writer};

/// Resource type of a topic.
pub const RESOURCE_TOPIC: i8 = 2;
/// Resource type of a broker.
pub const RESOURCE_BROKER: i8 = 4;
/// Config source: a per-topic override.
pub const SOURCE_TOPIC: i8 = 1;
/// Config source: the broker's static configuration.
pub const SOURCE_STATIC_BROKER: i8 = 4;
/// Config source: a built-in default.
pub const SOURCE_DEFAULT: i8 = 5;

/// One resource asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigResource {
    /// [`RESOURCE_TOPIC`], [`RESOURCE_BROKER`], ...
    pub resource_type: i8,
    /// Topic name or broker id.
    pub resource_name: String,
    /// Keys asked for; `None` = all.
    pub configuration_keys: Option<Vec<String>>,
}

/// A DescribeConfigs request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeConfigsRequest {
    /// Resources.
    pub resources: Vec<ConfigResource>,
    /// Synonyms asked for (v1+).
    pub include_synonyms: bool,
    /// Documentation asked for (v3+).
    pub include_documentation: bool,
}

impl DescribeConfigsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let resources = r.array("resources", |r| {
            let c = ConfigResource {
                resource_type: r.i8("resource_type")?,
                resource_name: r.str("resource_name")?,
                configuration_keys: r.narray("configuration_keys", |r| r.str("key"))?,
            };
            r.tags()?;
            Ok(c)
        })?;
        let include_synonyms = version >= 1 && r.bool("include_synonyms")?;
        let include_documentation = version >= 3 && r.bool("include_documentation")?;
        r.tags()?;
        Ok(DescribeConfigsRequest {
            resources,
            include_synonyms,
            include_documentation,
        })
    }
}

/// One config entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Name.
    pub name: String,
    /// Value.
    pub value: Option<String>,
    /// Where the value comes from ([`SOURCE_DEFAULT`], ...).
    pub source: i8,
    /// Kafka's `ConfigType` (1 boolean, 2 string, 3 int, 5 long, 7 list).
    pub config_type: i8,
    /// Cannot be changed at run time.
    pub read_only: bool,
    /// Where else the value could come from, most specific first (v1+):
    /// (name, value, source).
    pub synonyms: Vec<(String, Option<String>, i8)>,
    /// What the config does (v3+).
    pub documentation: Option<String>,
}

/// Config source: a dynamic broker config for one broker.
pub const SOURCE_DYNAMIC_BROKER: i8 = 2;
/// Config source: a dynamic default for every broker.
pub const SOURCE_DYNAMIC_DEFAULT_BROKER: i8 = 3;

/// One resource's configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigResult {
    /// Error code.
    pub error_code: i16,
    /// Error message.
    pub error_message: Option<String>,
    /// Resource type.
    pub resource_type: i8,
    /// Resource name.
    pub resource_name: String,
    /// Entries.
    pub configs: Vec<ConfigEntry>,
}

/// Encodes a DescribeConfigs response for `version`.
pub fn encode_response(w: &mut Writer, version: i16, results: &[ConfigResult]) {
    w.i32(0);
    w.array(results, |w, r| {
        w.i16(r.error_code);
        w.nstr(r.error_message.as_deref());
        w.i8(r.resource_type);
        w.str(&r.resource_name);
        w.array(&r.configs, |w, c| {
            w.str(&c.name);
            w.nstr(c.value.as_deref());
            w.bool(c.read_only);
            if version == 0 {
                w.bool(c.source == SOURCE_DEFAULT);
            } else {
                w.i8(c.source);
            }
            w.bool(false);
            if version >= 1 {
                w.array(&c.synonyms, |w, (name, value, source)| {
                    w.str(name);
                    w.nstr(value.as_deref());
                    w.i8(*source);
                    w.tags();
                });
            }
            if version >= 3 {
                w.i8(c.config_type);
                w.nstr(c.documentation.as_deref());
            }
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

impl DescribeConfigsRequest {
    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.array(&self.resources, |w, c| {
            w.i8(c.resource_type);
            w.str(&c.resource_name);
            match &c.configuration_keys {
                None => w.array_len(None),
                Some(keys) => w.array(keys, |w, k| w.str(k)),
            }
            w.tags();
        });
        if version >= 1 {
            w.bool(self.include_synonyms);
        }
        if version >= 3 {
            w.bool(self.include_documentation);
        }
        w.tags();
    }
}

/// Decodes a DescribeConfigs response body of `version` (the inverse of
/// [`encode_response`]). v0 has no config source, only `is_default`: it
/// reads as [`SOURCE_DEFAULT`] or -1 (the schema default). `config_type`
/// is 0 and `documentation` `None` before v3; no synonyms in v0.
pub fn decode_response(r: &mut Reader<'_>, version: i16) -> Result<Vec<ConfigResult>, DecodeError> {
    r.i32("throttle_time_ms")?;
    let results = r.array("results", |r| {
        let error_code = r.i16("error_code")?;
        let error_message = r.nstr("error_message")?;
        let resource_type = r.i8("resource_type")?;
        let resource_name = r.str("resource_name")?;
        let configs = r.array("configs", |r| {
            let name = r.str("name")?;
            let value = r.nstr("value")?;
            let read_only = r.bool("read_only")?;
            let source = if version == 0 {
                if r.bool("is_default")? {
                    SOURCE_DEFAULT
                } else {
                    -1
                }
            } else {
                r.i8("config_source")?
            };
            r.bool("is_sensitive")?;
            let mut synonyms = Vec::new();
            if version >= 1 {
                synonyms = r.array("synonyms", |r| {
                    let s = (r.str("name")?, r.nstr("value")?, r.i8("source")?);
                    r.tags()?;
                    Ok(s)
                })?;
            }
            let (mut config_type, mut documentation) = (0, None);
            if version >= 3 {
                config_type = r.i8("config_type")?;
                documentation = r.nstr("documentation")?;
            }
            r.tags()?;
            Ok(ConfigEntry {
                name,
                value,
                source,
                config_type,
                read_only,
                synonyms,
                documentation,
            })
        })?;
        r.tags()?;
        Ok(ConfigResult {
            error_code,
            error_message,
            resource_type,
            resource_name,
            configs,
        })
    })?;
    r.tags()?;
    Ok(results)
}

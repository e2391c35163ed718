//! ElectLeaders (key 43), versions 0–2 (v2 flexible). Every partition's
//! only replica already leads it.
//!
//! ```text
//! request  election_type i8 (v1+), topic_partitions nullable [topic str, partitions [i32], tags],
//!          timeout_ms i32, tags
//! response throttle_time_ms i32, error_code i16 (v1+),
//!          replica_election_results [topic str, partition_result [partition_id i32,
//!                                    error_code i16, error_message nstr, tags], tags], tags
//! ```

use super::{DecodeError, Reader, TopicPartitions, Writer};

/// An ElectLeaders request; `None` partitions = all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectLeadersRequest {
    /// 0 preferred, 1 unclean (v1+).
    pub election_type: i8,
    /// Partitions.
    pub topic_partitions: Option<Vec<TopicPartitions>>,
    /// Timeout.
    pub timeout_ms: i32,
}

impl ElectLeadersRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let election_type = if version >= 1 {
            r.i8("election_type")?
        } else {
            0
        };
        let topic_partitions = r.narray("topic_partitions", TopicPartitions::read)?;
        let timeout_ms = r.i32("timeout_ms")?;
        r.tags()?;
        Ok(ElectLeadersRequest {
            election_type,
            topic_partitions,
            timeout_ms,
        })
    }

    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i8(self.election_type);
        }
        match &self.topic_partitions {
            None => w.array_len(None),
            Some(t) => w.array(t, |w, t| t.write(w)),
        }
        w.i32(self.timeout_ms);
        w.tags();
    }
}

/// Per topic, (partition, error code, error message).
pub type ElectionResults = Vec<(String, Vec<(i32, i16, String)>)>;

/// Encodes a response.
pub fn encode_response(w: &mut Writer, version: i16, topics: &ElectionResults) {
    w.i32(0);
    if version >= 1 {
        w.i16(0);
    }
    w.array(topics, |w, (name, parts)| {
        w.str(name);
        w.array(parts, |w, (p, code, message)| {
            w.i32(*p);
            w.i16(*code);
            w.nstr((*code != 0).then_some(message.as_str()));
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

/// Decodes a response: per topic, (partition, error code).
pub fn decode_response(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<super::TopicErrors, DecodeError> {
    r.i32("throttle_time_ms")?;
    if version >= 1 {
        r.i16("error_code")?;
    }
    let topics = r.array("replica_election_results", |r| {
        let name = r.str("topic")?;
        let parts = r.array("partition_result", |r| {
            let p = (r.i32("partition_id")?, r.i16("error_code")?);
            r.nstr("error_message")?;
            r.tags()?;
            Ok(p)
        })?;
        r.tags()?;
        Ok((name, parts))
    })?;
    r.tags()?;
    Ok(topics)
}

//! Reading fastjson's non-standard JSON: Java brokers serialize a map whose
//! keys are objects (`Map<MessageQueue, …>` in ConsumeStats, TopicStatsTable,
//! ResetOffsetBody) with the key object written in place of the key string:
//! `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5}}`.
//! [`parse_fastjson`] accepts standard JSON plus that form, turning such a
//! map into an array of `[key, value]` pairs. Nesting is capped, every
//! error names its byte position, and it never panics on input.

use serde_json::{Map, Number, Value};

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 64;

/// Why a body is not (fastjson) JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad JSON at byte {pos}: {reason}")]
pub struct FastjsonError {
    /// Byte offset of the problem.
    pub pos: usize,
    /// What was expected.
    pub reason: &'static str,
}

/// Parses `text`; maps with object keys become arrays of `[key, value]`.
pub fn parse_fastjson(text: &[u8]) -> Result<Value, FastjsonError> {
    let mut p = Parser { s: text, i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing bytes"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> FastjsonError {
        FastjsonError {
            pos: self.i,
            reason,
        }
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, b: u8, reason: &'static str) -> Result<(), FastjsonError> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(reason))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, FastjsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => {
                self.i += 1;
                let mut out = Vec::new();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Value::Array(out));
                }
                loop {
                    out.push(self.value(depth + 1)?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::Array(out));
                        }
                        _ => return Err(self.err("expected , or ]")),
                    }
                }
            }
            Some(b'"') => self.string().map(Value::String),
            Some(_) => self.scalar(),
            None => Err(self.err("unexpected end")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, FastjsonError> {
        self.i += 1;
        let mut map = Map::new();
        let mut pairs = Vec::new();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(map));
        }
        loop {
            match self.peek() {
                Some(b'"') => {
                    let k = self.string()?;
                    self.expect(b':', "expected :")?;
                    map.insert(k, self.value(depth + 1)?);
                }
                Some(b'{') => {
                    let k = self.object(depth + 1)?;
                    self.expect(b':', "expected :")?;
                    pairs.push(Value::Array(vec![k, self.value(depth + 1)?]));
                }
                _ => return Err(self.err("expected a key")),
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.err("expected , or }")),
            }
        }
        if map.is_empty() {
            Ok(Value::Array(pairs))
        } else if pairs.is_empty() {
            Ok(Value::Object(map))
        } else {
            Err(self.err("a map mixes string and object keys"))
        }
    }

    fn string(&mut self) -> Result<String, FastjsonError> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        while let Some(&b) = self.s.get(self.i) {
            self.i += 1;
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    let raw = self.s.get(start..self.i).unwrap_or_default();
                    return serde_json::from_slice(raw).map_err(|_| FastjsonError {
                        pos: start,
                        reason: "bad string",
                    });
                }
                _ => {}
            }
        }
        Err(self.err("unterminated string"))
    }

    fn scalar(&mut self) -> Result<Value, FastjsonError> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
        {
            self.i += 1;
        }
        let word = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default())
            .map_err(|_| self.err("bad literal"))?;
        match word {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            "" => Err(self.err("expected a value")),
            w => w
                .parse::<Number>()
                .map(Value::Number)
                .map_err(|_| FastjsonError {
                    pos: start,
                    reason: "bad number",
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keyed_maps_become_pairs() {
        let v = parse_fastjson(
            br#"{"consumeTps":0.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":5},{"brokerName":"b","queueId":1,"topic":"T"}:7}}"#,
        )
        .unwrap();
        assert_eq!(v["consumeTps"], 0.5);
        let t = v["offsetTable"].as_array().unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0][0]["queueId"], 0);
        assert_eq!(t[0][1]["brokerOffset"], 5);
        assert_eq!(t[1][1], 7);
    }

    #[test]
    fn standard_json_is_unchanged() {
        let text = br#"{"a":[1,-2.5e3,"x\"y",true,null,{}],"b":{"c":"d"}}"#;
        let v = parse_fastjson(text).unwrap();
        assert_eq!(v, serde_json::from_slice::<Value>(text).unwrap());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\"",
            b"{\"a\":}",
            b"[1,",
            b"\"abc",
            b"{}x",
            b"{{}:1,\"a\":2}",
            b"nul",
        ] {
            assert!(
                parse_fastjson(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[".repeat(100);
        assert_eq!(
            parse_fastjson(deep.as_bytes()).unwrap_err().reason,
            "nested too deeply"
        );
    }
}

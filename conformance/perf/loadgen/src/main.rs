//! A load generator that costs the client side as little as possible, so
//! that a benchmark on two shared cores measures the broker rather than the
//! client. Both modes pre-encode their requests once and only patch the
//! per-request fields; one tokio thread drives every connection.
//!
//! ```text
//! rokka-perf-loadgen rmq   HOST:PORT TOPIC COUNT CONNS [BODY_BYTES]
//! rokka-perf-loadgen kafka HOST:PORT TOPIC COUNT PARTITIONS [BODY_BYTES] [BATCH] [INFLIGHT] [CONNS]
//! ```
//!
//! `rmq`: CONNS synchronous senders, one SEND_MESSAGE_V2 (code 310, the JSON
//! header fields a 4.9.x Java producer sends) in flight on each connection,
//! until COUNT sends are acknowledged; any non-SUCCESS reply ends the run.
//!
//! `kafka`: CONNS (default 1) connections to each partition 0..PARTITIONS
//! (CONNS × PARTITIONS producers), each pipelining up to INFLIGHT (default 8)
//! Produce v7 requests (acks=1) of one record batch (magic 2, CRC-32C) of
//! BATCH (default 512) records, until at least COUNT records are acknowledged
//! in total (whole requests); any partition error ends the run. The same
//! batch is sent again and again: the broker assigns the offsets.
//!
//! Prints `sent N in S s`; exits 1 on any error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

type Result<T> = std::result::Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let started = Instant::now();
    let result = rt.block_on(async {
        match args.first().map(String::as_str) {
            Some("rmq") if args.len() >= 5 => rmq(&args[1..]).await,
            Some("kafka") if args.len() >= 5 => kafka(&args[1..]).await,
            _ => Err(usage()),
        }
    });
    match result {
        Ok(n) => println!("sent {n} in {:.2} s", started.elapsed().as_secs_f64()),
        Err(e) => {
            eprintln!("rokka-perf-loadgen: {e}");
            std::process::exit(1);
        }
    }
}

fn usage() -> String {
    "usage: rmq HOST:PORT TOPIC COUNT CONNS [BODY_BYTES] | \
     kafka HOST:PORT TOPIC COUNT PARTITIONS [BODY_BYTES] [BATCH] [INFLIGHT] [CONNS]"
        .to_string()
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: Option<T>) -> Result<T> {
    match args.get(i) {
        Some(s) => s.parse().map_err(|_| format!("bad argument {s:?}")),
        None => default.ok_or_else(usage),
    }
}

async fn connect(addr: &str) -> Result<TcpStream> {
    let s = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(s)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------- RocketMQ

async fn rmq(args: &[String]) -> Result<u64> {
    let addr = args[0].clone();
    let topic = args[1].clone();
    let count: u64 = arg(args, 2, None)?;
    let conns: u64 = arg(args, 3, None)?;
    let body_len: usize = arg(args, 4, Some(1024))?;
    // Claimed before each send, so exactly COUNT sends go out in total.
    let claimed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..conns {
        let stream = connect(&addr).await?;
        let (topic, claimed) = (topic.clone(), claimed.clone());
        tasks.push(tokio::spawn(async move {
            rmq_sender(stream, &topic, c, count, body_len, &claimed).await
        }));
    }
    let mut acked = 0;
    for t in tasks {
        acked += t.await.map_err(|e| e.to_string())??;
    }
    Ok(acked)
}

async fn rmq_sender(
    mut s: TcpStream,
    topic: &str,
    conn: u64,
    count: u64,
    body_len: usize,
    claimed: &AtomicU64,
) -> Result<u64> {
    // The header up to the opaque value, and after it; only the opaque changes.
    let head = format!(
        "{{\"code\":310,\"extFields\":{{\"a\":\"perf_pg\",\"b\":\"{topic}\",\"c\":\"TBW102\",\
         \"d\":\"4\",\"e\":\"{}\",\"f\":\"0\",\"g\":\"{}\",\"h\":\"0\",\
         \"i\":\"WAIT\\u0001true\\u0002TAGS\\u0001TagA\",\"j\":\"0\",\"k\":\"false\",\
         \"m\":\"false\",\"n\":\"broker-a\"}},\"flag\":0,\"language\":\"JAVA\",\"opaque\":",
        conn % 4,
        now_ms()
    );
    let tail = ",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":407}";
    let body = vec![b'x'; body_len];
    let mut frame = Vec::with_capacity(head.len() + tail.len() + body_len + 32);
    let mut reply = Vec::with_capacity(4096);
    let mut acked = 0;
    let mut opaque = conn as u32 * 1_000_000;
    while claimed.fetch_add(1, Ordering::Relaxed) < count {
        opaque = opaque.wrapping_add(1);
        frame.clear();
        frame.extend_from_slice(&[0; 8]);
        frame.extend_from_slice(head.as_bytes());
        frame.extend_from_slice(opaque.to_string().as_bytes());
        frame.extend_from_slice(tail.as_bytes());
        let header_len = frame.len() - 8;
        frame.extend_from_slice(&body);
        let total = (frame.len() - 4) as u32;
        frame[0..4].copy_from_slice(&total.to_be_bytes());
        frame[4..8].copy_from_slice(&(header_len as u32).to_be_bytes());
        s.write_all(&frame).await.map_err(|e| e.to_string())?;

        let mut len = [0u8; 4];
        s.read_exact(&mut len)
            .await
            .map_err(|e| format!("reading a reply: {e}"))?;
        reply.resize(u32::from_be_bytes(len) as usize, 0);
        s.read_exact(&mut reply).await.map_err(|e| e.to_string())?;
        let code = reply_code(&reply).ok_or("reply without a code")?;
        if code != 0 {
            return Err(format!(
                "send failed: {}",
                String::from_utf8_lossy(&reply[..reply.len().min(400)])
            ));
        }
        acked += 1;
    }
    Ok(acked)
}

/// The `code` of a JSON remoting reply (`frame` without its length prefix).
fn reply_code(frame: &[u8]) -> Option<i64> {
    let header_len = (u32::from_be_bytes(frame.get(0..4)?.try_into().ok()?) & 0xFF_FFFF) as usize;
    let header = frame.get(4..4 + header_len)?;
    let key = b"\"code\":";
    let at = header.windows(key.len()).position(|w| w == key)? + key.len();
    let digits: Vec<u8> = header[at..]
        .iter()
        .copied()
        .take_while(|b| b.is_ascii_digit() || *b == b'-')
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

// ------------------------------------------------------------------- Kafka

async fn kafka(args: &[String]) -> Result<u64> {
    let addr = args[0].clone();
    let topic = args[1].clone();
    let count: u64 = arg(args, 2, None)?;
    let partitions: u64 = arg(args, 3, None)?;
    let body_len: usize = arg(args, 4, Some(1024))?;
    let batch: u64 = arg(args, 5, Some(512))?;
    let inflight: usize = arg(args, 6, Some(8))?;
    let conns: u64 = arg(args, 7, Some(1))?;
    if partitions == 0 || batch == 0 || inflight == 0 || conns == 0 {
        return Err(usage());
    }
    let records = record_batch(batch as usize, body_len);
    // Whole requests per connection, at least COUNT records in total.
    let requests = count.div_ceil(batch * partitions * conns);
    let mut tasks = Vec::new();
    for c in 0..partitions * conns {
        let stream = connect(&addr).await?;
        let request = produce_request(&topic, (c % partitions) as i32, &records);
        tasks.push(tokio::spawn(async move {
            kafka_partition(stream, request, requests, inflight).await
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(requests * batch * partitions * conns)
}

/// Sends REQUESTS copies of REQUEST (correlation ids patched), up to INFLIGHT
/// outstanding, and checks every reply's partition error code.
async fn kafka_partition(
    s: TcpStream,
    mut request: Vec<u8>,
    requests: u64,
    inflight: usize,
) -> Result<()> {
    let (mut rd, mut wr) = s.into_split();
    let window = Arc::new(Semaphore::new(inflight));
    let sender = {
        let window = window.clone();
        tokio::spawn(async move {
            for id in 0..requests {
                window.acquire().await.map_err(|e| e.to_string())?.forget();
                // size i32, api key i16, version i16, correlation id i32
                request[8..12].copy_from_slice(&(id as i32).to_be_bytes());
                wr.write_all(&request).await.map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(wr)
        })
    };
    let mut reply = Vec::with_capacity(256);
    for id in 0..requests {
        let mut len = [0u8; 4];
        rd.read_exact(&mut len)
            .await
            .map_err(|e| format!("reading a produce reply: {e}"))?;
        reply.resize(u32::from_be_bytes(len) as usize, 0);
        rd.read_exact(&mut reply).await.map_err(|e| e.to_string())?;
        let (correlation, error) = produce_reply(&reply).ok_or("short produce reply")?;
        if correlation != id as i32 {
            return Err(format!("reply {correlation} where {id} was due"));
        }
        if error != 0 {
            return Err(format!("produce error code {error}"));
        }
        window.add_permits(1);
    }
    sender.await.map_err(|e| e.to_string())??;
    Ok(())
}

/// A Produce v7 request (header v1) of one partition's records, acks=1.
fn produce_request(topic: &str, partition: i32, records: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(records.len() + 64 + topic.len());
    b.extend_from_slice(&[0; 4]); // size, set below
    b.extend_from_slice(&0i16.to_be_bytes()); // api key: Produce
    b.extend_from_slice(&7i16.to_be_bytes()); // version
    b.extend_from_slice(&0i32.to_be_bytes()); // correlation id, patched per send
    put_str(&mut b, "rokka-perf-loadgen");
    b.extend_from_slice(&(-1i16).to_be_bytes()); // transactional id: null
    b.extend_from_slice(&1i16.to_be_bytes()); // acks
    b.extend_from_slice(&30_000i32.to_be_bytes()); // timeout ms
    b.extend_from_slice(&1i32.to_be_bytes()); // topics
    put_str(&mut b, topic);
    b.extend_from_slice(&1i32.to_be_bytes()); // partitions
    b.extend_from_slice(&partition.to_be_bytes());
    b.extend_from_slice(&(records.len() as i32).to_be_bytes());
    b.extend_from_slice(records);
    let size = (b.len() - 4) as i32;
    b[0..4].copy_from_slice(&size.to_be_bytes());
    b
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as i16).to_be_bytes());
    b.extend_from_slice(s.as_bytes());
}

/// Correlation id and the first partition's error code of a Produce v7 reply.
fn produce_reply(r: &[u8]) -> Option<(i32, i16)> {
    let mut at = 0;
    let mut take = |n: usize| {
        let s = r.get(at..at + n);
        at += n;
        s
    };
    let correlation = i32::from_be_bytes(take(4)?.try_into().ok()?);
    let _topics = take(4)?;
    let name_len = i16::from_be_bytes(take(2)?.try_into().ok()?);
    take(name_len.max(0) as usize)?;
    let _partitions = take(4)?;
    let _index = take(4)?;
    let error = i16::from_be_bytes(take(2)?.try_into().ok()?);
    Some((correlation, error))
}

/// A magic-2 record batch of N records with BODY_LEN-byte values, no keys.
fn record_batch(n: usize, body_len: usize) -> Vec<u8> {
    let value = vec![b'x'; body_len];
    let mut recs = Vec::with_capacity(n * (body_len + 16));
    let mut rec = Vec::with_capacity(body_len + 16);
    for i in 0..n {
        rec.clear();
        rec.push(0); // attributes
        put_varint(&mut rec, 0); // timestamp delta
        put_varint(&mut rec, i as i64); // offset delta
        put_varint(&mut rec, -1); // key: null
        put_varint(&mut rec, body_len as i64);
        rec.extend_from_slice(&value);
        put_varint(&mut rec, 0); // headers
        put_varint(&mut recs, rec.len() as i64);
        recs.extend_from_slice(&rec);
    }
    let ts = now_ms();
    let mut after_crc = Vec::with_capacity(recs.len() + 40);
    after_crc.extend_from_slice(&0i16.to_be_bytes()); // attributes
    after_crc.extend_from_slice(&(n as i32 - 1).to_be_bytes()); // last offset delta
    after_crc.extend_from_slice(&ts.to_be_bytes()); // base timestamp
    after_crc.extend_from_slice(&ts.to_be_bytes()); // max timestamp
    after_crc.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    after_crc.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    after_crc.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    after_crc.extend_from_slice(&(n as i32).to_be_bytes());
    after_crc.extend_from_slice(&recs);
    let mut b = Vec::with_capacity(after_crc.len() + 21);
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
                                              // batch length: everything after this field
    b.extend_from_slice(&((4 + 1 + 4 + after_crc.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&crc32c::crc32c(&after_crc).to_be_bytes());
    b.extend_from_slice(&after_crc);
    b
}

fn put_varint(b: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        b.push((z as u8 & 0x7F) | 0x80);
        z >>= 7;
    }
    b.push(z as u8);
}

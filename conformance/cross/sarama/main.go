// Sarama (Debian golang-github-shopify-sarama-dev 1.22.1, GOPATH mode) side of
// the cross-protocol data scenarios, run by conformance/cross/data.sh with
// Config.Version = V2_1_0_0 (record batches with headers):
//
//	cross-sarama -mode consume -brokers ADDR -topic T -out FILE
//	    every partition from the oldest offset to the high watermark, as the
//	    canonical JSON lines of check.py;
//	cross-sarama -mode produce -brokers ADDR -topic T -codec gzip|snappy -plan IN -out FILE
//	    the records of IN (records.py plan) to their partitions with one
//	    SendMessages call (so batches hold many records), then the manifest
//	    with the offsets and timestamps.
//
// Every wait is bounded; the exit status is 1 with a FAIL line on error.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/Shopify/sarama"
)

var (
	mode    = flag.String("mode", "", "consume or produce")
	brokers = flag.String("brokers", "", "broker address")
	topic   = flag.String("topic", "", "topic")
	codec   = flag.String("codec", "gzip", "gzip or snappy")
	plan    = flag.String("plan", "", "records to produce (JSON lines)")
	out     = flag.String("out", "", "output file")
)

// rec is one record in check.py's canonical form (hex for bytes, nil = null).
type rec struct {
	Producer  string       `json:"producer,omitempty"`
	Partition int32        `json:"partition"`
	Offset    *int64       `json:"offset"`
	Ts        *int64       `json:"ts"`
	KeyHex    *string      `json:"key_hex"`
	ValueHex  *string      `json:"value_hex"`
	Headers   [][2]*string `json:"headers"`
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL sarama %s: %s\n", *mode, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func hexOf(b []byte) *string {
	if b == nil {
		return nil
	}
	s := hex.EncodeToString(b)
	return &s
}

func unhex(s *string) []byte {
	if s == nil {
		return nil
	}
	b, err := hex.DecodeString(*s)
	if err != nil {
		fail("bad hex %q", *s)
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

func config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_1_0_0
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Producer.Flush.Frequency = 20 * time.Millisecond
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	c.Consumer.Return.Errors = true
	return c
}

func writeAll(recs []rec) {
	f, err := os.Create(*out)
	if err != nil {
		fail("create %s: %v", *out, err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			fail("encode: %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		fail("write: %v", err)
	}
	f.Close()
}

func consume() {
	client, err := sarama.NewClient([]string{*brokers}, config())
	if err != nil {
		fail("client: %v", err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		fail("consumer: %v", err)
	}
	parts, err := client.Partitions(*topic)
	if err != nil {
		fail("partitions: %v", err)
	}
	var recs []rec
	for _, p := range parts {
		hw, err := client.GetOffset(*topic, p, sarama.OffsetNewest)
		if err != nil {
			fail("high watermark of %d: %v", p, err)
		}
		if hw == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(*topic, p, sarama.OffsetOldest)
		if err != nil {
			fail("consume partition %d: %v", p, err)
		}
		last := int64(-1)
		for last < hw-1 {
			select {
			case m := <-pc.Messages():
				off, ts := m.Offset, m.Timestamp.UnixNano()/int64(time.Millisecond)
				r := rec{Partition: m.Partition, Offset: &off, Ts: &ts, KeyHex: hexOf(m.Key), ValueHex: hexOf(m.Value),
					Headers: [][2]*string{}}
				for _, h := range m.Headers {
					r.Headers = append(r.Headers, [2]*string{hexOf(h.Key), hexOf(h.Value)})
				}
				recs = append(recs, r)
				last = m.Offset
			case e := <-pc.Errors():
				fail("partition %d: %v", p, e)
			case <-time.After(20 * time.Second):
				fail("partition %d: stuck at offset %d of %d", p, last, hw)
			}
		}
		pc.Close()
	}
	consumer.Close()
	writeAll(recs)
}

func produce() {
	f, err := os.Open(*plan)
	if err != nil {
		fail("open plan: %v", err)
	}
	var recs []rec
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r rec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			fail("plan line: %v", err)
		}
		recs = append(recs, r)
	}
	f.Close()
	c := config()
	switch *codec {
	case "gzip":
		c.Producer.Compression = sarama.CompressionGZIP
	case "snappy":
		c.Producer.Compression = sarama.CompressionSnappy
	default:
		fail("codec %q", *codec)
	}
	sp, err := sarama.NewSyncProducer([]string{*brokers}, c)
	if err != nil {
		fail("producer: %v", err)
	}
	now := time.Now().Truncate(time.Millisecond)
	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, r := range recs {
		m := &sarama.ProducerMessage{Topic: *topic, Partition: r.Partition, Timestamp: now.Add(time.Duration(i) * time.Millisecond)}
		if k := unhex(r.KeyHex); k != nil {
			m.Key = sarama.ByteEncoder(k)
		}
		if v := unhex(r.ValueHex); v != nil {
			m.Value = sarama.ByteEncoder(v)
		}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, sarama.RecordHeader{Key: unhex(h[0]), Value: unhex(h[1])})
		}
		msgs[i] = m
	}
	done := make(chan error, 1)
	go func() { done <- sp.SendMessages(msgs) }()
	select {
	case err := <-done:
		if err != nil {
			fail("send: %v", err)
		}
	case <-time.After(60 * time.Second):
		fail("SendMessages did not return within 60 s")
	}
	sp.Close()
	for i, m := range msgs {
		off, ts := m.Offset, m.Timestamp.UnixNano()/int64(time.Millisecond)
		recs[i].Offset, recs[i].Ts, recs[i].Partition = &off, &ts, m.Partition
		recs[i].Producer = "sarama-" + *codec
	}
	writeAll(recs)
}

func main() {
	flag.Parse()
	switch *mode {
	case "consume":
		consume()
	case "produce":
		produce()
	default:
		fail("unknown mode")
	}
}

// Sarama (Debian golang-github-shopify-sarama-dev 1.22.1, GOPATH mode)
// scenarios against rokka, run by conformance/kafka/run.sh:
//
//	sync and async producers (keys; headers when the version allows them),
//	a partition consumer from the oldest offset checking every record, and
//	(for versions >= 0.10.2) a consumer group of two members splitting the
//	partitions with commits, then a restarted group resuming from them.
//
// Usage: sarama-check -brokers ADDR -version default|2.1.0 -topic T -group G
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

var (
	brokers = flag.String("brokers", "", "broker address")
	version = flag.String("version", "default", "default or 2.1.0")
	topic   = flag.String("topic", "sarama", "topic")
	group   = flag.String("group", "sarama-group", "group id")
)

func fail(format string, args ...interface{}) {
	fmt.Printf("[sarama %s] FAIL: %s\n", *version, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func config() *sarama.Config {
	c := sarama.NewConfig()
	if *version == "2.1.0" {
		c.Version = sarama.V2_1_0_0
	}
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.CommitInterval = 200 * time.Millisecond
	c.Consumer.Return.Errors = true
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	return c
}

func withHeaders() bool { return config().Version.IsAtLeast(sarama.V0_11_0_0) }

func message(i int) *sarama.ProducerMessage {
	m := &sarama.ProducerMessage{
		Topic: *topic,
		Key:   sarama.StringEncoder(fmt.Sprintf("k%d", i)),
		Value: sarama.StringEncoder(fmt.Sprintf("v%d", i)),
	}
	if withHeaders() {
		m.Headers = []sarama.RecordHeader{{Key: []byte("i"), Value: []byte(strconv.Itoa(i))}}
	}
	return m
}

// check validates one consumed message and returns its index.
func check(m *sarama.ConsumerMessage) int {
	i, err := strconv.Atoi(strings.TrimPrefix(string(m.Key), "k"))
	if err != nil {
		fail("bad key %q", m.Key)
	}
	if string(m.Value) != fmt.Sprintf("v%d", i) {
		fail("value %q for key %q", m.Value, m.Key)
	}
	if withHeaders() {
		if len(m.Headers) != 1 || string(m.Headers[0].Key) != "i" || string(m.Headers[0].Value) != strconv.Itoa(i) {
			fail("headers of %q", m.Key)
		}
	}
	return i
}

func produce(start, n int) {
	sp, err := sarama.NewSyncProducer([]string{*brokers}, config())
	if err != nil {
		fail("sync producer: %v", err)
	}
	half := n / 2
	for i := start; i < start+half; i++ {
		if _, _, err := sp.SendMessage(message(i)); err != nil {
			fail("sync send %d: %v", i, err)
		}
	}
	sp.Close()
	ap, err := sarama.NewAsyncProducer([]string{*brokers}, config())
	if err != nil {
		fail("async producer: %v", err)
	}
	for i := start + half; i < start+n; i++ {
		ap.Input() <- message(i)
	}
	for i := 0; i < n-half; i++ {
		select {
		case <-ap.Successes():
		case e := <-ap.Errors():
			fail("async send: %v", e.Err)
		case <-time.After(20 * time.Second):
			fail("async producer timed out")
		}
	}
	ap.Close()
}

func consumeAll(n int) {
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
	seen := map[int]bool{}
	for _, p := range parts {
		hw, err := client.GetOffset(*topic, p, sarama.OffsetNewest)
		if err != nil {
			fail("offset: %v", err)
		}
		if hw == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(*topic, p, sarama.OffsetOldest)
		if err != nil {
			fail("consume partition %d: %v", p, err)
		}
		last, prev := int64(-1), -1
		for last < hw-1 {
			select {
			case m := <-pc.Messages():
				i := check(m)
				if m.Offset != last+1 || i < prev {
					fail("partition %d: offset %d after %d, index %d after %d", p, m.Offset, last, i, prev)
				}
				last, prev = m.Offset, i
				if seen[i] {
					fail("duplicate %d", i)
				}
				seen[i] = true
			case e := <-pc.Errors():
				fail("partition consumer: %v", e)
			case <-time.After(15 * time.Second):
				fail("partition %d: stuck at %d of %d", p, last, hw)
			}
		}
		pc.Close()
	}
	consumer.Close()
	if len(seen) != n {
		fail("partition consumers saw %d of %d", len(seen), n)
	}
}

type handler struct {
	mu      *sync.Mutex
	seen    map[int]int
	claimed map[string][]int32
	name    string
}

func (h *handler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	var ps []int32
	for _, p := range s.Claims()[*topic] {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(a, b int) bool { return ps[a] < ps[b] })
	h.claimed[h.name] = ps
	h.mu.Unlock()
	return nil
}
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		i := check(m)
		h.mu.Lock()
		h.seen[i]++
		h.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

// runGroup runs `members` group members until `done` says stop (or 60 s).
func runGroup(members int, done func(seen map[int]int, claimed map[string][]int32) bool) (map[int]int, map[string][]int32) {
	mu := &sync.Mutex{}
	seen, claimed := map[int]int{}, map[string][]int32{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for m := 0; m < members; m++ {
		cg, err := sarama.NewConsumerGroup([]string{*brokers}, *group, config())
		if err != nil {
			fail("consumer group: %v", err)
		}
		h := &handler{mu: mu, seen: seen, claimed: claimed, name: fmt.Sprintf("m%d", m)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, []string{*topic}, h); err != nil && ctx.Err() == nil {
					fmt.Printf("[sarama %s] consume: %v (retrying)\n", *version, err)
					time.Sleep(200 * time.Millisecond)
				}
			}
			cg.Close()
		}()
		time.Sleep(500 * time.Millisecond)
	}
	for ctx.Err() == nil {
		mu.Lock()
		stop := done(seen, claimed)
		mu.Unlock()
		if stop {
			// Let the 200 ms auto-commit run before leaving.
			time.Sleep(800 * time.Millisecond)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	return seen, claimed
}

func main() {
	flag.Parse()
	const n = 40
	produce(0, n)
	fmt.Printf("[sarama %s] sync+async producers sent %d records\n", *version, n)
	consumeAll(n)
	fmt.Printf("[sarama %s] partition consumers read all %d records in order\n", *version, n)
	if !config().Version.IsAtLeast(sarama.V0_10_2_0) {
		return
	}
	seen, claimed := runGroup(2, func(seen map[int]int, claimed map[string][]int32) bool {
		return len(seen) == n && len(claimed["m0"]) > 0 && len(claimed["m1"]) > 0
	})
	if len(seen) != n {
		fail("group saw %d of %d", len(seen), n)
	}
	if len(claimed["m0"]) == 0 || len(claimed["m1"]) == 0 {
		fail("both members should own partitions: %v", claimed)
	}
	fmt.Printf("[sarama %s] two group members split partitions %v and saw all %d\n", *version, claimed, n)
	produce(n, 10)
	seen, _ = runGroup(1, func(seen map[int]int, _ map[string][]int32) bool { return len(seen) >= 10 })
	if len(seen) != 10 {
		fail("restarted group saw %d records, want the 10 new ones", len(seen))
	}
	for i := n; i < n+10; i++ {
		if seen[i] != 1 {
			fail("restarted group: record %d seen %d times (%v)", i, seen[i], seen)
		}
	}
	fmt.Printf("[sarama %s] restarted group resumed from its commits: exactly the 10 new records\n", *version)
}

// sarama (Debian 1.22.1, GOPATH mode) over rokka's secured Kafka listeners:
// mutual TLS, SASL PLAIN and SCRAM-SHA-256/512 (xdg-go/scram from Debian).
// With -expect-fail the connection must be refused with an authentication
// error; otherwise ten records are produced with a sync producer and read
// back from partition 0.
package main

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"strings"
	"time"

	"github.com/Shopify/sarama"
	"github.com/xdg-go/scram"
)

var (
	brokers    = flag.String("brokers", "", "broker address")
	mode       = flag.String("mode", "ssl", "ssl, plain, scram256 or scram512")
	useTLS     = flag.Bool("tls", false, "TLS (implied by -mode ssl)")
	ca         = flag.String("ca", "", "CA certificate (PEM)")
	cert       = flag.String("cert", "", "client certificate (PEM), for mutual TLS")
	key        = flag.String("key", "", "client key (PEM)")
	user       = flag.String("user", "", "SASL user")
	password   = flag.String("password", "", "SASL password")
	expectFail = flag.Bool("expect-fail", false, "the connection must be refused")
	topic      = flag.String("topic", "sec-sarama", "topic")
)

func fail(format string, args ...interface{}) {
	fmt.Printf("[sarama %s] FAIL: %s\n", *mode, fmt.Sprintf(format, args...))
	os.Exit(1)
}

// scramClient adapts xdg-go/scram to sarama's SCRAMClient.
type scramClient struct {
	gen  scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *scramClient) Begin(user, password, authzID string) error {
	c, err := s.gen.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}
func (s *scramClient) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *scramClient) Done() bool                             { return s.conv.Done() }

func config() *sarama.Config {
	c := sarama.NewConfig()
	// 1.0+: SaslHandshake v1 and SaslAuthenticate, so a wrong password gets
	// error 58 instead of a closed connection.
	c.Version = sarama.V2_1_0_0
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Metadata.Retry.Max = 1
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	c.Net.DialTimeout = 5 * time.Second
	if *mode == "ssl" || *useTLS {
		pool := x509.NewCertPool()
		pem, err := ioutil.ReadFile(*ca)
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			fail("CA %s: %v", *ca, err)
		}
		t := &tls.Config{RootCAs: pool, ServerName: "localhost"}
		if *cert != "" {
			pair, err := tls.LoadX509KeyPair(*cert, *key)
			if err != nil {
				fail("client certificate: %v", err)
			}
			t.Certificates = []tls.Certificate{pair}
		}
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = t
	}
	if *mode != "ssl" {
		c.Net.SASL.Enable = true
		c.Net.SASL.Handshake = true
		c.Net.SASL.User = *user
		c.Net.SASL.Password = *password
		switch *mode {
		case "plain":
			c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case "scram256":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient {
				return &scramClient{gen: scram.HashGeneratorFcn(sha256.New)}
			}
		case "scram512":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient {
				return &scramClient{gen: scram.HashGeneratorFcn(sha512.New)}
			}
		default:
			fail("unknown mode")
		}
	}
	return c
}

func main() {
	flag.Parse()
	sp, err := sarama.NewSyncProducer([]string{*brokers}, config())
	if *expectFail {
		if err == nil {
			sp.Close()
			fail("connected although it should have been refused")
		}
		// sarama wraps the broker's SASL_AUTHENTICATION_FAILED (58) or
		// reports the closed connection of a refused TLS handshake.
		msg := err.Error()
		if !strings.Contains(msg, "SASL Authentication failed") && !strings.Contains(msg, "client has run out of available brokers") {
			fail("refused with an unexpected error: %v", err)
		}
		fmt.Printf("[sarama %s] refused as expected: %v\n", *mode, err)
		return
	}
	if err != nil {
		fail("sync producer: %v", err)
	}
	base := int64(-1)
	for i := 0; i < 10; i++ {
		m := &sarama.ProducerMessage{Topic: *topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("%s-%d", *mode, i))}
		_, off, err := sp.SendMessage(m)
		if err != nil {
			fail("send %d: %v", i, err)
		}
		if base < 0 {
			base = off
		} else if off != base+int64(i) {
			fail("send %d at offset %d, first at %d", i, off, base)
		}
	}
	sp.Close()
	consumer, err := sarama.NewConsumer([]string{*brokers}, config())
	if err != nil {
		fail("consumer: %v", err)
	}
	pc, err := consumer.ConsumePartition(*topic, 0, base)
	if err != nil {
		fail("consume partition: %v", err)
	}
	for i := 0; i < 10; i++ {
		select {
		case m := <-pc.Messages():
			if want := fmt.Sprintf("%s-%d", *mode, i); string(m.Value) != want || m.Offset != base+int64(i) {
				fail("read %q at %d, want %q at %d", m.Value, m.Offset, want, base+int64(i))
			}
		case e := <-pc.Errors():
			fail("partition consumer: %v", e)
		case <-time.After(15 * time.Second):
			fail("read %d of 10", i)
		}
	}
	pc.Close()
	consumer.Close()
	fmt.Printf("[sarama %s] 10 records produced and read back\n", *mode)
}

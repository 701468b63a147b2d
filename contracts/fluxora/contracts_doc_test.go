package fluxora_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// Every topic docs/contracts.md lists, for each of the three contracts, decodes from an example with that
// contract's module to the domain event the page names: none stays ContractEventObserved. The examples are the
// fixtures of TestEveryTopicDecodesFieldByField and the events @stellar/stellar-base builds (internal/nodetest/stellar-base/fluxora.js).
func TestEveryDocumentedTopicIsTyped(t *testing.T) {
	documented := documentedTopics(t)
	if len(documented) < 60 {
		t.Fatalf("docs/contracts.md lists %d topics: the table was not read", len(documented))
	}
	examples := map[string][2]any{} // topic → topics, value
	for _, fx := range topicFixtures {
		name := string(*scvalOf(t, fx.topics[0]).Sym)
		examples[name] = [2]any{[]xdr.ScVal{scvalOf(t, fx.topics[0]), scvalOf(t, fx.topics[1])}, scvalOf(t, fx.value)}
	}
	for name, ev := range oracleEncoded(t) {
		var topics []xdr.ScVal
		for _, tp := range ev.Topics {
			topics = append(topics, scvalOf(t, tp))
		}
		examples[name] = [2]any{topics, scvalOf(t, ev.Value)}
	}
	for topic, eventType := range documented {
		ex, ok := examples[topic]
		if !ok {
			t.Errorf("%s: no example to decode", topic)
			continue
		}
		module, _ := moduleOf(topic)
		got, _, err := module.Decode(fixtureMeta(), ex[0].([]xdr.ScVal), ex[1].(xdr.ScVal))
		if err != nil {
			t.Errorf("%s: %v", topic, err)
			continue
		}
		if _, observed := got.(*domain.ContractEventObserved); observed || string(got.Type()) != eventType {
			t.Errorf("%s decodes to %s, the page says %s", topic, got.Type(), eventType)
		}
	}
}

// documentedTopics reads the topic → domain event tables of docs/contracts.md, keyed as the oracle's events are:
// the stream contract's topics bare, the factory's and the governance contract's prefixed with "factory:" and
// "governance:" (their sections' headings name them).
func documentedTopics(t *testing.T) map[string]string {
	f, err := os.Open(filepath.Join("..", "..", "docs", "contracts.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	prefix, other := "", false
	for sc.Scan() {
		if heading, ok := strings.CutPrefix(sc.Text(), "## "); ok {
			other = !strings.Contains(heading, "Fluxora") // another module's section (LiquiFact) or the simulator's
			switch {
			case strings.Contains(heading, "factory"):
				prefix = "factory:"
			case strings.Contains(heading, "governance"):
				prefix = "governance:"
			default:
				prefix = ""
			}
			continue
		}
		cells := strings.Split(sc.Text(), "|")
		if other || len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		topic := prefix + strings.Trim(strings.TrimSpace(cells[1]), "`")
		if _, dup := out[topic]; dup {
			t.Fatalf("docs/contracts.md lists %s twice", topic)
		}
		out[topic] = strings.TrimSpace(cells[3])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

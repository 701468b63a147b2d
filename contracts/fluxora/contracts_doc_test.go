package fluxora

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// Every topic docs/contracts.md lists decodes, from an example, to the domain event the page names: none stays
// ContractEventObserved. The examples are the fixtures of TestEveryTopicDecodesFieldByField and the events
// @stellar/stellar-base builds (encode.js).
func TestEveryDocumentedTopicIsTyped(t *testing.T) {
	documented := documentedTopics(t)
	if len(documented) < 40 {
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
		got, _, err := Module{}.Decode(fixtureMeta(), ex[0].([]xdr.ScVal), ex[1].(xdr.ScVal))
		if err != nil {
			t.Errorf("%s: %v", topic, err)
			continue
		}
		if _, observed := got.(*domain.ContractEventObserved); observed || string(got.Type()) != eventType {
			t.Errorf("%s decodes to %s, the page says %s", topic, got.Type(), eventType)
		}
	}
}

// documentedTopics reads the topic → domain event table of docs/contracts.md.
func documentedTopics(t *testing.T) map[string]string {
	f, err := os.Open(filepath.Join("..", "..", "docs", "contracts.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		topic := strings.Trim(strings.TrimSpace(cells[1]), "`")
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

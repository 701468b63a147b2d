package liquifact

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/contracts.md's LiquiFact table names, for every struct of the contract, the domain event its fixed topic
// becomes: every row is a topic the module decodes to that event (the oracle's example), and every topic the module
// knows has its row.
func TestEveryDocumentedStructIsTyped(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "docs", "contracts.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	documented := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if heading, ok := strings.CutPrefix(sc.Text(), "## "); ok {
			in = strings.Contains(heading, "LiquiFact")
			continue
		}
		cells := strings.Split(sc.Text(), "|")
		if !in || len(cells) < 7 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		documented[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[4])
	}
	examples := oracleEvents(t)
	if len(documented) != len(examples) {
		t.Fatalf("the page documents %d structs, the module types %d", len(documented), len(examples))
	}
	for topic, eventType := range documented {
		if _, known := shapes(topic); !known {
			t.Errorf("%s: documented, not decoded", topic)
			continue
		}
		if ev, ok := examples[topic]; !ok || string(ev.Type()) != eventType {
			t.Errorf("%s: the page says %s, the module makes %v", topic, eventType, ev)
		}
	}
}

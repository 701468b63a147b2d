package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromium is the browser the console test drives: Debian's, which .ci/run installs.
func chromium(t *testing.T) string {
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (.ci/run installs it)")
		}
		t.Skip("chromium is not installed: apt-get install chromium")
	}
	return path
}

// artifactsDir is where the console test leaves its screenshots: ARTIFACTS_DIR, or artifacts/console in the
// repository.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type eventView struct {
	EventID  string `json:"eventId"`
	Ledger   uint32 `json:"ledger"`
	Reverted bool   `json:"reverted"`
}

// revertedStream finds a stream whose history holds a reverted event and events in at least three ledgers, and
// whose withdrawable amount at one of those ledgers differs from the tip's; it returns it with the ledgers the chart must show (those with events that were not reverted).
func revertedStream(t *testing.T, base string, tip int) (string, []uint32) {
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	getJSON(t, base+"/api/streams?limit=100", 200, &list)
	for _, s := range list.Data {
		var events struct {
			Data []eventView `json:"data"`
		}
		getJSON(t, base+"/api/streams/"+url.PathEscape(s.ID)+"/events?limit=100", 200, &events)
		var ledgers []uint32
		reverted := false
		for _, e := range events.Data {
			reverted = reverted || e.Reverted
			if e.Ledger != 0 && !e.Reverted && !slices.Contains(ledgers, e.Ledger) {
				ledgers = append(ledgers, e.Ledger)
			}
		}
		if !reverted || len(ledgers) < 3 {
			continue
		}
		atTip := withdrawableAt(t, base, s.ID, tip)
		for _, l := range ledgers {
			if withdrawableAt(t, base, s.ID, int(l)) != atTip {
				return s.ID, ledgers
			}
		}
	}
	t.Fatal("no stream with a reverted event and a changing withdrawable amount in the simulated network")
	return "", nil
}

// withdrawableAt is what the API says a stream's withdrawable amount was at a ledger.
func withdrawableAt(t *testing.T, base, id string, ledger int) string {
	var s struct {
		Data struct {
			WithdrawableAmount string `json:"withdrawableAmount"`
		} `json:"data"`
	}
	getJSON(t, fmt.Sprintf("%s/api/streams/%s?asOfLedger=%d", base, url.PathEscape(id), ledger), 200, &s)
	return s.Data.WithdrawableAmount
}

// The reviewer console in headless Chromium against serve and the simulator: the status panel follows the feed,
// the chart has one point per ledger with events, the timeline strikes out the event a reorg reverted, the as-of
// slider changes the withdrawable amount, and an API error shows on the page.
func TestConsoleInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	browser := chromium(t)
	d := newDeployment(t, "embedded")
	const tip = 120
	env := d.simEnv(tip, true)
	env["SIM_STREAMS"] = "12"
	base, stop := startServe(t, env)
	defer stop()
	waitForTip(t, base, tip)
	id, ledgers := revertedStream(t, base, tip)
	shots := artifactsDir(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 1800), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		check("screenshot", err)
		save(t, shots, name, png)
	}
	wait := func(what, expr string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			shot("failed.png")
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\npage: %.2000s", what, err, page)
		}
	}
	eval := func(expr string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		check(expr, err)
		return n
	}
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		check(css, err)
		return s
	}

	check("open the console", chromedp.Do(ctx, chromedp.Navigate(base+"/console#stream="+url.QueryEscape(id))))
	wait("the chart", `document.querySelector("#chart svg") !== null`)
	wait("the status feed", fmt.Sprintf(`document.getElementById("st-tip").textContent === "%d"`, tip))
	wait("the as-of state", `document.getElementById("asof-out").textContent.startsWith("Withdrawable")`)
	points := eval(`document.querySelectorAll("#chart [data-point]").length`)
	struck := eval(`document.querySelectorAll("#timeline li.reverted del").length`)
	before, shownTip := text("#asof-out"), text("#st-tip")
	shot("stream.png")
	if points != len(ledgers) {
		t.Errorf("the chart has %d points, want one per ledger with events: %d (%v)", points, len(ledgers), ledgers)
	}
	if struck == 0 {
		t.Error("the timeline shows no reverted event struck through")
	}

	// Slide back to the first ledger at which the API says the withdrawable amount was different.
	start := eval(`Number(document.getElementById("asof-ledger").value)`)
	low := eval(`Number(document.getElementById("asof-ledger").min)`)
	if got, want := withdrawable(before), withdrawableAt(t, base, id, start); got != want {
		t.Errorf("the page shows %s withdrawable at ledger %d, the API %s", got, start, want)
	}
	target := 0
	for l := low; l < start && target == 0; l++ {
		if withdrawableAt(t, base, id, l) != withdrawable(before) {
			target = l
		}
	}
	if target == 0 {
		t.Fatalf("stream %s had the same withdrawable amount from ledger %d to %d", id, low, start)
	}
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const s = document.getElementById("asof-ledger");
		s.value = %d; s.dispatchEvent(new Event("input")); return true; })()`, target)))
	check("move the slider", err)
	wait("the slider's redraw", fmt.Sprintf(`document.getElementById("asof-value").textContent === "%d" &&
		document.getElementById("asof-out").textContent !== %q`, target, before))
	after := text("#asof-out")
	shot("stream-as-of.png")
	if got, want := withdrawable(after), withdrawableAt(t, base, id, target); got != want || got == withdrawable(before) {
		t.Errorf("at ledger %d the page shows %s withdrawable (was %s), the API %s", target, got, withdrawable(before), want)
	}

	// As of a date: the close time of that ledger, typed into the date picker; the page says why, with numbers.
	var at struct {
		Data struct {
			AsOf               string `json:"asOf"`
			AccruedAmount      string `json:"accruedAmount"`
			WithdrawableAmount string `json:"withdrawableAmount"`
		} `json:"data"`
	}
	// The stream's last ledger with events, past its cliff by then in the simulated chains.
	getJSON(t, fmt.Sprintf("%s/api/streams/%s?asOfLedger=%d", base, url.PathEscape(id), ledgers[len(ledgers)-1]), 200, &at)
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { document.getElementById("asof-date").value = %q;
		document.getElementById("asof-date-form").requestSubmit(); return true; })()`, strings.TrimSuffix(at.Data.AsOf, "Z"))))
	check("pick a date", err)
	wait("the date's state", fmt.Sprintf(`document.getElementById("asof-out").textContent.includes("(as of %s)")`, at.Data.AsOf))
	if got := withdrawable(text("#asof-out")); got != at.Data.WithdrawableAmount {
		t.Errorf("as of %s the page shows %s withdrawable, the API %s at that ledger", at.Data.AsOf, got, at.Data.WithdrawableAmount)
	}
	why := text("#why-formula")
	if !strings.Contains(why, "accrued = min(checkpointed + ") || !strings.Contains(why, ") = "+at.Data.AccruedAmount) ||
		!strings.Contains(why, "withdrawable = accrued − withdrawn") {
		t.Errorf("the why says %q, want the accrual with its result %s", why, at.Data.AccruedAmount)
	}
	if n := eval(`document.querySelectorAll("#why-events li").length`); n == 0 {
		t.Error("the why lists no event")
	}
	if n := eval(`document.querySelectorAll("#chart [data-time-tick]").length`); n < 2 {
		t.Errorf("the chart has %d time ticks", n)
	}
	noOverflow := func(width int) {
		t.Helper()
		if w := eval(`document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 0 {
			t.Errorf("at %d px wide the page overflows by %d px", width, w)
		}
	}
	noOverflow(1280)
	shot("stream-1280.png")
	// A phone's width: the same page must fit.
	check("narrow the window", chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)))
	check("reload", chromedp.Do(ctx, chromedp.Reload()))
	wait("the chart at 390 px", `document.querySelector("#chart svg") !== null && document.getElementById("asof-out").textContent !== ""`)
	noOverflow(390)
	shot("stream-390.png")
	check("widen the window", chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1800)))

	check("open a stream that does not exist", chromedp.Do(ctx, chromedp.Navigate(base+"/console#stream=not-a-stream")))
	wait("the error banner", `!document.getElementById("error").hidden`)
	banner := text("#error")
	shot("error.png")
	if !strings.Contains(banner, "VALIDATION_ERROR") {
		t.Errorf("the error banner says %q", banner)
	}
	t.Logf("stream %s: %d points, %d reverted; %q → %q; tip %s; screenshots in %s", id, points, struck, before, after, shownTip, shots)
}

func withdrawable(s string) string {
	w, _, _ := strings.Cut(strings.TrimPrefix(s, "Withdrawable "), " ")
	return w
}

func save(t *testing.T, dir, name string, png []byte) {
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleFeedKeepsTheKeyOutOfTheURL: with WS_AUTH_REQUIRED, the console's live feed connects with the reviewer's
// key, and the key is in no WebSocket URL the browser opens (proxies and access logs keep URLs).
func TestConsoleFeedKeepsTheKeyOutOfTheURL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	browser := chromium(t)
	d := newDeployment(t, "embedded")
	env := d.simEnv(20, false)
	const key = "console-reviewer-key-0001"
	env["WS_AUTH_REQUIRED"] = "true"
	env["API_KEYS"] = `[{"key":"` + key + `","clientId":"reviewer","scopes":["streams:read"]}]`
	base, stop := startServe(t, env)
	defer stop()
	waitForTip(t, base, 20)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	var mu sync.Mutex
	var opened []string
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithListener(func(ev any) {
		if ws, ok := ev.(*network.EventWebSocketCreated); ok {
			mu.Lock()
			opened = append(opened, ws.URL)
			mu.Unlock()
		}
	}))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	connected := func() error {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("st-feed").textContent === "Live feed: connected"`,
			chromedp.WithPollingTimeout(20*time.Second)))
		return err
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("st-feed").textContent.startsWith("Live feed: disconnected")`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("without a key the feed must be refused: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`sessionStorage.setItem("streamledger.apiKey", "`+key+`"), true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if err := connected(); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("the feed did not connect with the key: %v\npage: %.1000s", err, page)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(opened) == 0 {
		t.Fatal("no WebSocket was seen opening")
	}
	for _, u := range opened {
		if strings.Contains(u, key) || strings.Contains(u, "token") || strings.Contains(u, "bearer") {
			t.Fatalf("a WebSocket URL carries the key: %s", u)
		}
	}
}

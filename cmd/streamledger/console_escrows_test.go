package main

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console's escrow page, in Chromium against a running serve: the list shows every escrow, and one escrow's
// page shows its funded total as the API does, a row per investor, and one chart point per standing funding or
// unfunding of its history.
func TestConsoleEscrowPage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	browser := chromium(t)
	d := newDeployment(t, "embedded")
	const tip = 400
	env := d.simEnv(tip, false)
	env["SIM_ESCROWS"] = "6"
	base, stop := startServe(t, env)
	defer stop()
	waitForTip(t, base, tip)
	var list struct {
		Data []struct {
			ID           string `json:"id"`
			FundedAmount string `json:"fundedAmount"`
			Investors    []struct {
				Investor string `json:"investor"`
			} `json:"investors"`
		} `json:"data"`
	}
	getJSON(t, base+"/api/escrows?limit=100", 200, &list)
	if len(list.Data) != 6 {
		t.Fatalf("%d escrows", len(list.Data))
	}
	chosen := list.Data[0]
	for _, e := range list.Data {
		if len(e.Investors) > len(chosen.Investors) {
			chosen = e
		}
	}
	var history struct {
		Data []struct {
			Type     string `json:"type"`
			Reverted bool   `json:"reverted"`
		} `json:"data"`
	}
	getJSON(t, base+"/api/escrows/"+url.PathEscape(chosen.ID)+"/events?limit=100", 200, &history)
	fundings := 0
	for _, ev := range history.Data {
		if !ev.Reverted && (ev.Type == "EscrowFunded" || ev.Type == "EscrowUnfunded") {
			fundings++
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 1400), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	shots := artifactsDir(t)
	fail := func(what string, err error) {
		t.Helper()
		png, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		save(t, shots, "escrow-failed.png", png)
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s: %v\npage: %.2000s", what, err, page)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console/escrows#escrow="+url.QueryEscape(chosen.ID))); err != nil {
		fail("open the page", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#chart svg") !== null && !document.getElementById("escrows").hidden`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		fail("the escrow and the list", err)
	}
	count := func(expr string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		if err != nil {
			fail(expr, err)
		}
		return n
	}
	funded, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#summary dd[data-field="Funded"]`)))
	if err != nil {
		fail("the funded total", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		save(t, shots, "escrow.png", png)
	}
	if funded != chosen.FundedAmount {
		t.Errorf("the page shows %q funded, the API %q", funded, chosen.FundedAmount)
	}
	if n := count(`document.querySelectorAll("#investors tbody tr").length`); n != len(chosen.Investors) {
		t.Errorf("%d investor rows, the escrow has %d investors", n, len(chosen.Investors))
	}
	if n := count(`document.querySelectorAll("#chart circle").length`); n != fundings {
		t.Errorf("%d chart points, the history has %d standing fundings and unfundings", n, fundings)
	}
	if n := count(`document.querySelectorAll("#escrows tbody tr").length`); n != len(list.Data) {
		t.Errorf("the list shows %d escrows, want %d", n, len(list.Data))
	}
}

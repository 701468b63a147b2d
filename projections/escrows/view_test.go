package escrows

import (
	"testing"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
)

// Amounts are shown in the funding token's decimals (7 unless the token is listed), beside their raw integers and the
// places used; the funding ratio is floored to four places.
func TestViewInTheTokensDecimals(t *testing.T) {
	const token = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")
	e := liquifact.Escrow{InvoiceID: "INV-1", FundingToken: token, FundedAmount: domain.NewAmount(1_234_567),
		FundingTarget: domain.NewAmount(3_000_000)}
	d := Decimals{token: 6}
	v := NewView(e, d.Of(token))
	if v.FundedAmount != "1.234567" || v.FundedAmountRaw != "1234567" || v.FundingRatio != "0.4115" {
		t.Fatalf("6 decimals: %s (%s), ratio %s", v.FundedAmount, v.FundedAmountRaw, v.FundingRatio)
	}
	if v := NewView(e, Decimals{}.Of(token)); v.FundedAmount != "0.1234567" || v.Decimals != 7 {
		t.Fatalf("a token not listed: %s in %d places", v.FundedAmount, v.Decimals)
	}
	// A token without decimals is shown in whole units, not in a SAC's 7 places.
	if v := NewView(e, Decimals{token: 0}.Of(token)); v.FundedAmount != "1234567" || v.Decimals != 0 {
		t.Fatalf("0 decimals: %s in %d places", v.FundedAmount, v.Decimals)
	}
}

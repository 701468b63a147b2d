// Builds LiquiFact escrow contract events (topics and data) with @stellar/stellar-base, the SDK's JavaScript
// encoder, and prints them as JSON: {fixedTopic: {topics: [base64 ScVal…], value: base64 ScVal}}. The layout is
// soroban-sdk's #[contractevent] as escrow/src/lib.rs at Liquifact/Liquifact-contracts ef6338e declares the structs:
// topics are the struct's name in snake case, then its #[topic] fields in order (`name` first); the data is a map of
// the other fields keyed by their names (empty when there are none); nested #[contracttype] structs are maps too.
const { nativeToScVal, Address, xdr } = require("@stellar/stellar-base");

const admin = "GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV";
const sme = "GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM";
const investor = "GBJCHUKZMTFSLOMNC7P4TS4VJJBTCYL3XKSOLXAUJSD56C4LHND5TWUC";
const token = "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP";

const sym = (s) => nativeToScVal(s, { type: "symbol" });
const u64 = (n) => nativeToScVal(BigInt(n), { type: "u64" });
const i64 = (n) => nativeToScVal(BigInt(n), { type: "i64" });
const u32 = (n) => nativeToScVal(n, { type: "u32" });
const i128 = (n) => nativeToScVal(BigInt(n), { type: "i128" });
const addr = (a) => new Address(a).toScVal();
const bool = (b) => nativeToScVal(b);
const none = () => xdr.ScVal.scvVoid();
const bytesN = (fill) => nativeToScVal(Buffer.alloc(32, fill), { type: "bytes" });
// A map keyed by field names: the host sorts a map's keys; so does this, by the keys' symbol bytes.
const struct = (fields) =>
  xdr.ScVal.scvMap(
    Object.keys(fields)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((k) => new xdr.ScMapEntry({ key: sym(k), val: fields[k] })),
  );

const inv = sym("INV-1023");
// event(fixed topic, name symbol, further #[topic] values, data fields)
const event = (fixed, name, topics, data) => [[sym(fixed), sym(name), ...topics], struct(data)];

const events = [
  event("escrow_initialized", "escrow_ii", [], {
    escrow: struct({
      invoice_id: inv, admin: addr(admin), sme_address: addr(sme), amount: i128("52000000000"),
      funding_target: i128("50000000000"), funded_amount: i128(0), yield_bps: i64(800), maturity: u64(1790000000),
      status: u32(0),
    }),
    funding_token: addr(token), treasury: addr(admin), registry: none(), has_maturity_lock: bool(true),
  }),
  event("max_unique_investors_cap_lowered", "inv_cap", [inv], { old_cap: u32(50), new_cap: u32(20) }),
  event("max_unique_investors_cap_raised", "raise_cap", [inv], { old_cap: u32(20), new_cap: u32(30) }),
  event("min_contribution_floor_lowered", "floor_lo", [inv], { old_floor: i128(1000), new_floor: i128(500) }),
  event("max_per_investor_cap_raised", "inv_cap", [inv], { old_cap: i128(5000), new_cap: i128(9000) }),
  event("escrow_funded", "funded", [inv, addr(investor)], {
    amount: i128("5000000000"), funded_amount: i128("25000000000"), status: u32(0),
    investor_effective_yield_bps: i64(900), tier_lock_secs: u64(86400),
  }),
  event("beneficiary_rotated", "ben_rot", [inv], { prior_sme: addr(sme), new_sme: addr(investor) }),
  event("escrow_partial_settle", "part_set", [inv], { funded_amount: i128("20000000000") }),
  event("escrow_settled", "escrow_sd", [inv], {
    funded_amount: i128("50000000000"), yield_bps: i64(800), maturity: u64(1790000000),
    settled_at_ledger_timestamp: u64(1790000100), settle_pool: i128("54000000000"),
  }),
  event("maturity_updated_event", "maturity", [inv], { old_maturity: u64(1790000000), new_maturity: u64(1795000000) }),
  event("admin_transferred_event", "admin", [inv], { new_admin: addr(sme) }),
  event("admin_accepted_event", "adm_acc", [inv], { prior_admin: addr(admin), new_admin: addr(sme) }),
  event("admin_proposed_event", "adm_prop", [inv], { current_admin: addr(admin), pending_admin: addr(sme) }),
  event("admin_proposal_superseded", "adm_sup", [inv], { previous_pending: addr(sme), new_pending: addr(investor) }),
  event("admin_proposal_cancelled", "adm_can", [inv], { cancelled_pending: addr(investor) }),
  event("deprecated_transfer_admin_used", "depr_xfer", [inv], { proposed_address: addr(sme) }),
  event("funding_target_updated", "fund_tgt", [inv], { old_target: i128("50000000000"), new_target: i128("60000000000") }),
  event("funding_deadline_extended", "fund_ext", [inv], { old_deadline: u64(1780000000), new_deadline: u64(1781000000) }),
  event("legal_hold_changed", "legalhld", [inv], { active: u32(1) }),
  event("paused_changed", "paused", [inv], { active: u32(1) }),
  event("legal_hold_clear_requested", "lh_req", [inv], { clearable_at: u64(1780086400) }),
  event("legal_hold_clear_delay_updated", "lh_delay", [inv], { old_delay: u64(86400), new_delay: u64(172800) }),
  event("collateral_recorded_evt", "coll_rec", [], { invoice_id: inv, amount: i128(7000), prior_amount: i128(0) }),
  event("collateral_cleared_evt", "coll_clr", [inv], { asset: sym("USDC"), amount: i128(7000), recorded_at: u64(1779000000) }),
  event("collateral_commitment_cleared", "coll_clr", [inv], {
    asset: sym("USDC"), amount: i128(7000), recorded_at: u64(1779000000),
  }),
  event("sme_withdrew", "sme_wd", [inv], { amount: i128("49500000000"), recipient: addr(sme), fee: i128("500000000") }),
  event("investor_payout_claimed", "inv_claim", [addr(investor), inv], {}),
  event("funding_cancelled", "fund_can", [inv], { funded_amount: i128("20000000000") }),
  event("investor_refunded_evt", "refunded", [addr(investor), inv], { amount: i128("20000000000") }),
  event("escrow_unfunded", "unfunded", [inv, addr(investor)], {
    amount: i128("5000000000"), remaining_contribution: i128("15000000000"), new_funded_amount: i128("35000000000"),
    timestamp: u64(1779500000),
  }),
  event("registry_ref_rebound", "reg_rebind", [inv], { registry: addr(token) }),
  event("treasury_dust_swept", "dust_sw", [], { invoice_id: inv, recipient: addr(admin), token: addr(token), amount: i128(3) }),
  event("primary_attestation_bound", "att_bind", [], { invoice_id: inv, digest: bytesN(0xa1) }),
  event("attestation_digest_appended", "att_app", [], { invoice_id: inv, index: u32(2), digest: bytesN(0xb2) }),
  event("attestation_digest_revoked", "att_rev", [], { invoice_id: inv, index: u32(2) }),
  event("attestation_digest_unrevoked", "att_unrev", [], { invoice_id: inv, index: u32(2) }),
  event("maturity_max_horizon_updated", "mtry_max", [inv], { old_horizon: u64(31536000), new_horizon: u64(15768000) }),
  event("maturity_max_horizon_raised", "mtry_rse", [inv], { old_horizon: u64(15768000), new_horizon: u64(63072000) }),
  event("allowlist_enabled_changed", "al_ena", [], { invoice_id: inv, active: u32(1) }),
  event("investor_allowlist_changed", "al_set", [], { invoice_id: inv, investor: addr(investor), allowed: u32(1) }),
  event("legal_hold_clear_cancelled", "lh_cancel", [inv], {}),
  event("contract_upgraded", "upgrade", [inv], { new_wasm_hash: bytesN(0xcd) }),
];

const out = {};
for (const [topics, value] of events) {
  out[topics[0].sym().toString()] = { topics: topics.map((t) => t.toXDR("base64")), value: value.toXDR("base64") };
}
process.stdout.write(JSON.stringify(out));

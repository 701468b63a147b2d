// Builds Fluxora contract events (topics and data) with @stellar/stellar-base, the SDK's JavaScript encoder, and
// prints them as JSON: {name: {topics: [base64 ScVal…], value: base64 ScVal}}. The shapes follow the contract's
// docs/events.md at Fluxora-Org/Fluxora-Contracts 75b15ca: #[contracttype] structs are maps keyed by field-name
// symbols, StreamEvent::X(u64) is a vec [symbol, u64], tuples are vecs, None is void.
const { nativeToScVal, Address, xdr } = require("@stellar/stellar-base");

const alice = "GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV";
const bob = "GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM";
const vault = "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP";

const sym = (s) => nativeToScVal(s, { type: "symbol" });
const u64 = (n) => nativeToScVal(BigInt(n), { type: "u64" });
const u32 = (n) => nativeToScVal(n, { type: "u32" });
const i128 = (n) => nativeToScVal(BigInt(n), { type: "i128" });
const addr = (a) => new Address(a).toScVal();
const bool = (b) => nativeToScVal(b);
const str = (s) => nativeToScVal(s, { type: "string" });
const none = () => xdr.ScVal.scvVoid();
const bytes = (b) => nativeToScVal(Buffer.from(b), { type: "bytes" });
const vec = (...items) => xdr.ScVal.scvVec(items);
// A struct: the host sorts a map's keys; so does this, by the keys' symbol bytes.
const struct = (fields) =>
  xdr.ScVal.scvMap(
    Object.keys(fields)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((k) => new xdr.ScMapEntry({ key: sym(k), val: fields[k] })),
  );

const wasm = Buffer.alloc(32, 0xab);
const events = {
  created: [[sym("created"), u64(42)], struct({
    stream_id: u64(42), sender: addr(alice), recipient: addr(bob), deposit_amount: i128("18446744073709551621"),
    rate_per_second: i128(1000), start_time: u64(1767225600), cliff_time: u64(1767225700), end_time: u64(1767312000),
    withdraw_dust_threshold: i128(10), memo: none(), metadata: none(),
  })],
  withdrew: [[sym("withdrew"), u64(42)], struct({ stream_id: u64(42), recipient: addr(bob), amount: i128(123456789) })],
  cancelled: [[sym("cancelled"), u64(42)], vec(sym("StreamCancelled"), u64(42))],
  del_share: [[sym("del_share"), u64(42)], struct({
    parent_stream_id: u64(42), child_stream_id: u64(43), delegator: addr(bob), delegatee: addr(vault),
    share_bps: u32(2500), new_parent_rate: i128(750), child_rate: i128(250),
  })],
  renewed: [[sym("renewed"), u64(42), u64(44)], struct({ old_stream_id: u64(42), new_stream_id: u64(44) })],
  claim_own: [[sym("claim_own"), u64(42)], struct({ stream_id: u64(42), old_owner: none(), new_owner: addr(vault) })],
  sndr_xfr: [[sym("sndr_xfr"), u64(42)], struct({ stream_id: u64(42), old_sender: addr(alice), new_sender: addr(vault) })],
  decomm: [[sym("decomm"), u64(42)], struct({ stream_id: u64(42), decommissioned: bool(true) })],
  health: [[sym("health"), u64(42)], struct({
    stream_id: u64(42), is_underfunded: bool(true), remaining_balance: i128(77), seconds_remaining: u64(3600),
  })],
  ac_set: [[sym("ac_set"), u64(42)], struct({ stream_id: u64(42), destination: addr(vault) })],
  ac_revoke: [[sym("ac_revoke"), u64(42)], struct({ stream_id: u64(42) })],
  ac_trig: [[sym("ac_trig"), u64(42)], struct({ stream_id: u64(42), destination: addr(vault), amount: i128(900) })],
  rate_cap: [[sym("rate_cap"), u64(42)], struct({ stream_id: u64(42), attempted_rate: i128(5000), max_rate_per_second: i128(4000) })],
  offr_crt: [[sym("offr_crt"), u64(9)], struct({
    offer_id: u64(9), sender: addr(alice), recipient: addr(bob), deposit_amount: i128(86400), rate_per_second: i128(1),
    start_time: u64(1767225600), cliff_time: u64(1767225600), end_time: u64(1767312000), expiry_time: u64(1767300000),
    created_at: u64(1767220000),
  })],
  offr_acc: [[sym("offr_acc"), u64(9)], struct({ offer_id: u64(9), effective_start_time: u64(1767225601), recipient: addr(bob) })],
  offr_cxl: [[sym("offr_cxl"), u64(9)], struct({ offer_id: u64(9), by: addr(alice), refund_amount: i128(86400) })],
  tmpl_def: [[sym("tmpl_def"), u64(3)], struct({
    template_id: u64(3), owner: addr(alice), start_delay: u64(60), cliff_delay: u64(3600), duration: u64(86400),
  })],
  res_rel: [[sym("res_rel"), addr(alice)], vec(u64(100), u64(10), u64(4), u64(6))],
  gl_pause: [[sym("gl_pause")], struct({ paused: bool(true) })],
  gl_resume: [[sym("gl_resume")], struct({ resumed_at: u64(1767225600) })],
  ct_pause: [[sym("ct_pause")], struct({ paused: bool(false) })],
  pr_pause: [[sym("pr_pause"), addr(alice)], struct({ reason: str("audit"), paused_at: u64(1767225600) })],
  pr_resume: [[sym("pr_resume"), addr(alice)], struct({ resumed_at: u64(1767229200) })],
  ex_swept: [[sym("ex_swept"), addr(vault)], struct({ to: addr(vault), amount: i128(31) })],
  AdminUpd: [[sym("AdminUpd")], vec(addr(alice), addr(bob))],
  upgraded: [[sym("upgraded")], struct({
    new_wasm_hash: bytes(wasm), new_version: u32(4), upgraded_at: u64(1767225600), upgraded_by: addr(alice),
  })],
  upgrade: [[sym("upgrade")], vec(bytes(wasm), u32(3), u32(3), addr(alice))],
  migrated: [[sym("migrated")], vec(u32(3), u32(4), u64(1767225600))],

  // The factory contract (contracts/factory at 75b15ca): keyed "factory:<topic>".
  "factory:fct_init": [[sym("fct_init")], struct({
    admin: addr(alice), stream_contract: addr(vault), max_deposit: i128(1000000000), min_duration: u64(3600),
  })],
  "factory:AdminUpd": [[sym("AdminUpd")], struct({ old_admin: addr(alice), new_admin: addr(bob) })],
  "factory:stm_upd": [[sym("stm_upd")], struct({ old_contract: addr(vault), new_contract: addr(vault) })],
  "factory:allow_upd": [[sym("allow_upd")], struct({ recipient: addr(bob), allowed: bool(true) })],
  "factory:cap_upd": [[sym("cap_upd")], struct({ old_cap: i128(1000000000), new_cap: i128(2000000000) })],
  "factory:dur_upd": [[sym("dur_upd")], struct({ old_min_duration: u64(3600), new_min_duration: u64(7200) })],
  "factory:batch_cap": [[sym("batch_cap")], struct({ enabled: bool(false) })],
  "factory:rate_bnd": [[sym("rate_bnd")], struct({ min_rate: i128(1), max_rate: none() })],
  "factory:factory": [[sym("factory"), sym("paused")], bool(true)],
  "factory:fct_strm": [[sym("fct_strm")], struct({
    stream_id: u64(42), sender: addr(alice), recipient: addr(bob), deposit_amount: i128(86400), rate_per_second: i128(1),
  })],

  // The governance contract (contracts/governance at 75b15ca): keyed "governance:<topic>". Proposal ids are u32.
  "governance:thr_upd": [[sym("thr_upd")], struct({ old_threshold: u32(2), new_threshold: u32(3) })],
  "governance:quor_cfg": [[sym("quor_cfg")], struct({ threshold: u32(3), signer_count: u32(5) })],
  "governance:sgnr_add": [[sym("sgnr_add")], struct({ signer: addr(bob) })],
  "governance:sgnr_rm": [[sym("sgnr_rm")], struct({ signer: addr(bob) })],
  "governance:adm_chg": [[sym("adm_chg")], struct({ old: addr(alice), new: addr(bob) })],
  "governance:proposed": [[sym("proposed"), u32(7)], struct({ proposal_id: u32(7), proposer: addr(alice), target: addr(vault) })],
  "governance:approved": [[sym("approved"), u32(7)], struct({ proposal_id: u32(7), approver: addr(bob), approval_count: u32(2) })],
  "governance:quorum": [[sym("quorum"), u32(7)], struct({
    proposal_id: u32(7), quorum_reached_at: u64(1767225600), executable_after: u64(1767312000),
  })],
  "governance:executed": [[sym("executed"), u32(7)], struct({
    proposal_id: u32(7), executor: addr(alice), target: addr(vault), calldata: bytes([0, 0, 0, 1]),
  })],
  "governance:cancelled": [[sym("cancelled"), u32(8)], struct({ proposal_id: u32(8), canceller: addr(alice) })],
};

const out = {};
for (const [name, [topics, value]] of Object.entries(events)) {
  out[name] = { topics: topics.map((t) => t.toXDR("base64")), value: value.toXDR("base64") };
}
process.stdout.write(JSON.stringify(out));

// Verifies deliveries with the Standard Webhooks reference library (npm standardwebhooks), an implementation that is
// not ours. Reads JSON from stdin: [{secret, body, headers}], and prints one line per delivery: "ok" or the error.
const { Webhook } = require("standardwebhooks");

let input = "";
process.stdin.on("data", (c) => { input += c; });
process.stdin.on("end", () => {
  for (const d of JSON.parse(input)) {
    try {
      new Webhook(d.secret).verify(d.body, d.headers);
      console.log("ok");
    } catch (e) {
      console.log(`refused: ${e.message}`);
    }
  }
});

// Pay, confirm or refund a shop order from the customer's own browser wallet (EIP-1193 window.ethereum).
// A form with data-wallet-call first asks the node for the call (POST, with the form's CSRF token): the node
// answers {"tx": {to, data, value}, "from": account} or {"error": "..."} when nothing should be sent (the cart
// is paid already, the quote expired, the account cannot pay). Only then is the wallet asked to send
// (eth_sendTransaction); the form is then submitted with the transaction hash.

function say(form, text) {
  const status = document.getElementById(form.dataset.status);
  if (status) status.textContent = text;
}

async function send(form, button) {
  const provider = window.ethereum;
  if (!provider) {
    say(form, "No browser wallet found: install one (for example MetaMask) to pay from your own account.");
    return;
  }
  button.disabled = true;
  try {
    say(form, "Checking with the shop…");
    const answer = await fetch(form.dataset.walletCall, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const body = await answer.json();
    if (!answer.ok || body.error) {
      say(form, body.error || "The shop refused: reload the page and try again.");
      return;
    }
    const accounts = await provider.request({ method: "eth_requestAccounts" });
    const from = accounts && accounts[0];
    if (!from || from.toLowerCase() !== body.from.toLowerCase()) {
      say(form, `Your wallet's account is not the one you signed in with (${body.from}): switch accounts.`);
      return;
    }
    say(form, "Confirm in your wallet…");
    const hash = await provider.request({ method: "eth_sendTransaction", params: [{ from, ...body.tx }] });
    form.elements.tx_hash.value = hash;
    say(form, "Sent: waiting for the shop…");
    form.submit();
  } catch (error) {
    say(form, `Nothing was sent: ${error && error.message ? error.message : error}`);
  } finally {
    button.disabled = false;
  }
}

for (const form of document.querySelectorAll("form[data-wallet-call]")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form, form.querySelector("button[type=submit]"));
  });
}

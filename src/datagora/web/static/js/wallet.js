// Sign in with a browser wallet (EIP-1193 window.ethereum): ask for the account (eth_requestAccounts), fetch
// the node's EIP-4361 message for it, have the wallet sign it (personal_sign) and post it with the form.

const form = document.getElementById("wallet-signin");
const button = document.getElementById("wallet-button");
const status = document.getElementById("wallet-status");

function say(text) {
  if (status) status.textContent = text;
}

async function signIn() {
  const provider = window.ethereum;
  if (!provider) {
    say("No browser wallet found. Install one (for example MetaMask) or sign in with the node's password.");
    return;
  }
  button.disabled = true;
  try {
    say("Waiting for your wallet…");
    const accounts = await provider.request({ method: "eth_requestAccounts" });
    if (!accounts || accounts.length === 0) throw new Error("the wallet shared no account");
    const address = accounts[0];
    const url = `${form.dataset.messageUrl}?address=${encodeURIComponent(address)}`;
    const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!answer.ok) throw new Error("the node did not give a sign-in message");
    const { message } = await answer.json();
    say("Sign the message in your wallet…");
    const hex = "0x" + Array.from(new TextEncoder().encode(message), (b) => b.toString(16).padStart(2, "0")).join("");
    const signature = await provider.request({ method: "personal_sign", params: [hex, address] });
    form.elements.message.value = message;
    form.elements.signature.value = signature;
    form.submit();
  } catch (error) {
    say(`Sign-in stopped: ${error && error.message ? error.message : error}`);
    button.disabled = false;
  }
}

if (button) button.addEventListener("click", signIn);

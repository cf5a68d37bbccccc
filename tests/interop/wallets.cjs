// Datagora's interoperability probe: checks Datagora's EIP-712 signatures and Sign-In with Ethereum messages
// with the libraries wallets and dapps use (ethers v6, @metamask/eth-sig-util, siwe).
// Reads a JSON array of commands on stdin and writes a JSON array of results on stdout, one per command.
"use strict";

const { ethers } = require("ethers");
const sigUtil = require("@metamask/eth-sig-util");
const { SiweMessage } = require("siwe");

function attempt(fn) {
  try {
    return fn();
  } catch (err) {
    return null; // no public key recovers from this signature
  }
}

function withoutDomainType(types) {
  const copy = { ...types };
  delete copy.EIP712Domain;
  return copy;
}

async function typedData({ data, signature, privateKey }) {
  const types = withoutDomainType(data.types);
  const wallet = new ethers.Wallet(privateKey);
  const key = Buffer.from(privateKey.slice(2), "hex");
  return {
    ethersDigest: ethers.TypedDataEncoder.hash(data.domain, types, data.message),
    sigUtilDigest: "0x" + Buffer.from(sigUtil.TypedDataUtils.eip712Hash(data, sigUtil.SignTypedDataVersion.V4)).toString("hex"),
    ethersRecovered: attempt(() => ethers.verifyTypedData(data.domain, types, data.message, signature)),
    sigUtilRecovered: attempt(() =>
      ethers.getAddress(sigUtil.recoverTypedSignature({ data, signature, version: sigUtil.SignTypedDataVersion.V4 })),
    ),
    ethersSignature: await wallet.signTypedData(data.domain, types, data.message),
    sigUtilSignature: sigUtil.signTypedData({ privateKey: key, data, version: sigUtil.SignTypedDataVersion.V4 }),
    walletAddress: wallet.address,
  };
}

async function siweSign({ privateKey, fields }) {
  const wallet = new ethers.Wallet(privateKey);
  const message = new SiweMessage({ ...fields, address: wallet.address }).prepareMessage();
  return { message, signature: await wallet.signMessage(message), address: wallet.address };
}

async function siweVerify({ message, signature }) {
  const parsed = new SiweMessage(message);
  const result = await parsed.verify({ signature }, { suppressExceptions: true });
  return {
    success: result.success,
    error: result.error ? String(result.error.type || result.error) : null,
    address: parsed.address,
    domain: parsed.domain,
    chainId: parsed.chainId,
    nonce: parsed.nonce,
    uri: parsed.uri,
    statement: parsed.statement,
  };
}

const handlers = { typedData, siweSign, siweVerify };

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const results = [];
  for (const { op, ...args } of JSON.parse(input)) {
    if (!handlers[op]) throw new Error(`unknown op ${op}`);
    results.push(await handlers[op](args));
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});

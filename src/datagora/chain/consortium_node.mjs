// Runs one @ethereumjs/client 0.10.5 node of a Datagora consortium (Clique proof of authority, EIP-225) with
// four changes to how the client handles blocks, without which three signers fork and stall on one machine:
//
// 1. An out-of-turn signer waits two block periods longer before sealing (EIP-225 asks only for a random delay of
//    up to SIGNER_COUNT x 500 ms). The client cannot reorganise onto a competing block it hears of, so the in-turn
//    signer's block must arrive first; a signer that is down is still replaced, two periods later.
// 2. A sealed or received block is sent whole (NewBlock) to every peer. The client sends it to the square root
//    of its peers and only the hash to the others, and drops hash announcements when no sync is running. The
//    transactions of a block received so leave the transaction pool: the client left them there, and a sender
//    whose mined transaction stayed in a signer's pool had none of its later ones included by that signer.
// 3. Each peer's total difficulty is taken from the NewBlock messages it sends, and the sync picks the peer
//    known to be furthest ahead. The client compares with the difficulty a peer had when it connected, so a node
//    that fell more than one block behind never synchronised again.
// 4. A signer does not seal while a peer is known to be ahead of it (it catches up first), nor, when the
//    network has several signers, before it has a peer, nor before it has executed the parent block (the miner
//    then failed with "State trie does not contain state root", an error that stopped the client). An error
//    while sealing is logged and sealing tried again one period later.
// 5. Transactions get into blocks, and eth_estimateGas answers. The block builder runs each transaction it adds
//    (before sealing) and the estimate runs its call in a header with no extraData, which the Clique format check
//    of @ethereumjs/block 10.0.0 refuses ("extraData must be 97 bytes"): every sealed block was empty. Skipping
//    the check is not enough: the EVM pays the priority fee to the header's Clique signer, which an unsealed
//    header does not have, so a block built so had another state root than the same block executed after sealing,
//    and the node stopped. While this signer builds a block or estimates gas, a header it makes with no
//    extraData is given a provisional seal by this signer's own key; a block received with no seal at all is
//    still refused.
// 5b. eth_estimateGas answers the gas a transaction uses after its storage refund, as it ran with the block's
//    whole gas limit; a transaction sent with that limit (withdrawals, which clear a balance and a lock) runs out
//    of gas before the refund is paid. A refund is at most a fifth of the gas used (EIP-3529), so the answer is
//    raised by a quarter, plus 10,000 gas for the 1/64 that a call keeps back (EIP-150).
// 6. A block's timestamp is at least its parent's plus the period: the miner stamps blocks with the rounded
//    wall-clock second, which could fall short of that and get its block refused ("invalid timestamp diff").
// 7. A call on the "latest" state or a receipt read while the node is still executing the block it just imported waits for the
//    execution (up to 5 s) instead of failing with "value for 0x… not found in DB".
// 8. Contract code runs at all: the client creates its EVM without the function that tells Clique's COINBASE
//    (the block's signer), and @ethereumjs/evm 10.0.0 then refuses to start any contract's code ("Must include
//    cliqueSigner function"). The EVM is given @ethereumjs/block's own function.
// 9. eth_getLogs filters on every topic: the client's filter returned after the first topic, so a query for
//    one order's Delivered event (its id is the second topic) returned every order's. And it waits (up to 10 s)
//    until the node has executed the last block asked for: a block imported but not yet executed has no receipts,
//    and its logs were silently missing (an event index reading a signer that had just caught up lost events).
// And it keeps dialling its static peers (DATAGORA_STATIC_PEERS, "nodeid@host:port,...") every 3 s while they are
// not connected: the client dials its bootnodes only at start and when it has no peer at all, so two signers
// started before each other was listening never met, and a restarted signer was reached by one peer only.
//
// Usage: node consortium_node.mjs CLIENT_DIR [client options...]; the node key (hex, for a fixed enode id) is
// read from DATAGORA_NODE_KEY when set. Written for Datagora; the client is MPL-2.0 and is not modified.

import { pathToFileURL } from 'node:url'
import path from 'node:path'

const clientDir = process.argv[2]
if (!clientDir) {
  console.error('usage: node consortium_node.mjs CLIENT_DIR [client options...]')
  process.exit(2)
}
process.argv.splice(2, 1)
const load = (rel) => import(pathToFileURL(path.join(clientDir, 'dist/esm', rel)).href)

const { Miner } = await load('src/miner/miner.js')
const { FullSynchronizer } = await load('src/sync/fullsync.js')
const { FullEthereumService } = await load('src/service/fullethereumservice.js')
const { Config } = await load('src/config.js')
const { RlpxServer } = await load('src/net/server/rlpxserver.js')
const blockDir = path.join(clientDir, '..', 'block', 'dist/esm')
const { BlockHeader } = await import(pathToFileURL(path.join(blockDir, 'index.js')).href)
const { generateCliqueBlockExtraData, cliqueSigner } = await import(
  pathToFileURL(path.join(blockDir, 'consensus/clique.js')).href
)
const { EVM } = await import(pathToFileURL(path.join(clientDir, '..', 'evm', 'dist/esm/index.js')).href)
const { Eth } = await load('src/rpc/modules/eth.js')
const { ReceiptsManager } = await load('src/execution/receipt.js')
const { readFileSync } = await import('node:fs')

const toBigInt = (bytes) => (bytes && bytes.length ? BigInt('0x' + Buffer.from(bytes).toString('hex')) : 0n)
const peerTd = new Map() // peer id -> highest total difficulty it announced

const nodeKey = process.env.DATAGORA_NODE_KEY
if (nodeKey) {
  Config.getClientKey = async () => Uint8Array.from(Buffer.from(nodeKey.replace(/^0x/, ''), 'hex'))
}

// (5) headers this signer makes while building a block or estimating gas get a provisional seal of its own
const unlock = process.argv.find((arg) => arg.startsWith('--unlock='))
const signerKey = unlock
  ? Uint8Array.from(Buffer.from(readFileSync(unlock.slice('--unlock='.length), 'utf8').trim().replace(/^0x/, ''), 'hex'))
  : undefined
let building = 0
const formatCheck = BlockHeader.prototype._consensusFormatValidation
BlockHeader.prototype._consensusFormatValidation = function () {
  if (building > 0 && this.extraData.length === 0 && this.common.consensusAlgorithm() === 'clique') {
    if (signerKey === undefined) return
    this.extraData = new Uint8Array(0)
    this.extraData = generateCliqueBlockExtraData(this, signerKey)
  }
  return formatCheck.call(this)
}
async function whileBuilding(fn) {
  building++
  try {
    return await fn()
  } finally {
    building--
  }
}
const estimateGas = Eth.prototype.estimateGas
Eth.prototype.estimateGas = async function (params) {
  const spent = BigInt(await whileBuilding(() => estimateGas.call(this, params)))
  return `0x${((spent * 5n) / 4n + 10000n).toString(16)}`
}

// (7) state reads wait for the execution of the latest block
const missingState = /not found in DB|does not contain state root/
for (const name of ['call', 'estimateGas', 'getBalance', 'getCode', 'getTransactionCount', 'getStorageAt', 'getTransactionReceipt', 'getLogs']) {
  const original = Eth.prototype[name]
  if (typeof original !== 'function') continue
  Eth.prototype[name] = async function (params) {
    const deadline = Date.now() + 5000
    for (;;) {
      try {
        return await original.call(this, params)
      } catch (err) {
        if (!missingState.test(String(err?.message ?? err)) || Date.now() > deadline) throw err
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }
}

// (8) the EVM knows how to find a Clique block's signer
const runInterpreter = EVM.prototype.runInterpreter
EVM.prototype.runInterpreter = function (message, opts) {
  if (this._optsCached !== undefined && this._optsCached.cliqueSigner === undefined) {
    this._optsCached.cliqueSigner = cliqueSigner
  }
  return runInterpreter.call(this, message, opts)
}

// (9) every topic of a log filter applies
const sameBytes = (a, b) => a !== undefined && b !== undefined && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0
const getLogs = ReceiptsManager.prototype.getLogs
ReceiptsManager.prototype.getLogs = async function (from, to, addresses, topics = []) {
  const deadline = Date.now() + 10000
  while (Date.now() < deadline) {
    const executed = await this.chain.blockchain.getIteratorHead()
    if (executed.header.number >= to.header.number) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const logs = await getLogs.call(this, from, to, addresses, topics)
  return logs.filter((entry) =>
    topics.every((topic, i) => {
      if (topic === null || topic === undefined) return true
      const actual = entry.log[1][i]
      return Array.isArray(topic) ? topic.some((t) => sameBytes(t, actual)) : sameBytes(topic, actual)
    }),
  )
}

// static peers: dial every 3 s those not connected
const staticPeers = (process.env.DATAGORA_STATIC_PEERS ?? '')
  .split(',')
  .filter((entry) => entry.includes('@'))
  .map((entry) => {
    const [id, hostPort] = entry.split('@')
    const [address, port] = hostPort.split(':')
    return { id: Uint8Array.from(Buffer.from(id, 'hex')), key: id, address, tcpPort: Number(port) }
  })
const initRlpx = RlpxServer.prototype.initRlpx
RlpxServer.prototype.initRlpx = async function () {
  const result = await initRlpx.call(this)
  if (staticPeers.length > 0 && this.staticDialer === undefined) {
    this.staticDialer = setInterval(() => {
      const rlpx = this.rlpx
      if (!rlpx) return
      for (const peer of staticPeers) {
        if (rlpx._peers?.has(peer.key)) continue
        rlpx.connect({ id: peer.id, address: peer.address, tcpPort: peer.tcpPort }).catch(() => {})
      }
    }, 3000)
    this.staticDialer.unref?.()
  }
  return result
}

// (3) remember each peer's total difficulty from its NewBlock messages
const handleEth = FullEthereumService.prototype.handleEth
FullEthereumService.prototype.handleEth = async function (message, peer) {
  if (message.name === 'NewBlock' && Array.isArray(message.data)) {
    const td = typeof message.data[1] === 'bigint' ? message.data[1] : toBigInt(message.data[1])
    if (td > (peerTd.get(peer.id) ?? 0n)) peerTd.set(peer.id, td)
  }
  return handleEth.call(this, message, peer)
}

function knownTd(peer) {
  const announced = peerTd.get(peer.id) ?? 0n
  const status = peer.eth?.status?.td ?? 0n
  return announced > status ? announced : status
}

function peerAhead(sync) {
  const ours = sync.chain.blocks.td
  return sync.pool.peers.some((p) => p.eth?.status !== undefined && knownTd(p) > ours)
}

// (3) sync from the peer known to be furthest ahead, and only when one is
FullSynchronizer.prototype.best = async function () {
  let best
  let bestTd = this.chain.blocks.td
  for (const peer of this.pool.peers) {
    if (peer.eth?.status === undefined) continue
    const td = knownTd(peer)
    if (td > bestTd) {
      best = peer
      bestTd = td
    }
  }
  return best
}

// (2) relay every block to every peer, and keep the heavier chain when a competing block arrives
FullSynchronizer.prototype.handleNewBlock = async function (block, peer) {
  if (peer) this.addToKnownByPeer(block.hash(), peer)
  const height = this.chain.headers.height
  if (block.header.number > height + 1n) return // a gap: the sync loop fetches it from the peer ahead
  try {
    await this.chain.blockchain.validateHeader(block.header)
  } catch (err) {
    this.config.logger?.debug(`consortium: block ${block.header.number} not valid here: ${err?.message ?? err}`)
    return
  }
  await this.sendNewBlock(block, this.pool.peers)
  const latest = this.chain.blocks.latest?.hash()
  const extendsTip = latest !== undefined && Buffer.compare(Buffer.from(latest), Buffer.from(block.header.parentHash)) === 0
  if (extendsTip || block.header.number <= height) {
    // a child of the tip, or a competing block whose parent is known: the blockchain keeps the heavier chain
    try {
      await this.chain.putBlocks([block])
    } catch (err) {
      this.config.logger?.debug(`consortium: block ${block.header.number} not stored: ${err?.message ?? err}`)
      return
    }
    if ((this.config.syncTargetHeight ?? 0n) < block.header.number) this.config.syncTargetHeight = block.header.number
    this.txPool.removeNewBlockTxs([block]) // its transactions leave the pool (else the sender's next ones never fit)
  }
}

// (1) out-of-turn signers wait two more periods; (4) no sealing while behind or alone
const queueNextAssembly = Miner.prototype.queueNextAssembly
Miner.prototype.queueNextAssembly = async function (timeout) {
  const parent = this.service.chain.blocks.latest.header
  const earliest = (Number(parent.timestamp) * 1000 + this.period) + 600 - Date.now() // (6)
  let wait = Math.max(timeout ?? this.period, earliest)
  const [signer] = this.config.accounts[0] ?? []
  const { blockchain } = this.service.chain
  if (signer !== undefined && blockchain.consensus?.cliqueSignerInTurn !== undefined) {
    const number = this.service.chain.blocks.latest.header.number + 1n
    if ((await blockchain.consensus.cliqueSignerInTurn(signer, number)) === false) wait += 2 * this.period
  }
  return queueNextAssembly.call(this, wait)
}

const assembleBlock = Miner.prototype.assembleBlock
Miner.prototype.assembleBlock = async function () {
  const sync = this.service.synchronizer
  const { blockchain } = this.service.chain
  const number = this.service.chain.blocks.latest.header.number + 1n
  const signers = blockchain.consensus?.cliqueActiveSigners?.(number)?.length ?? 1
  const alone = signers > 1 && this.service.pool.peers.length === 0 && !this.config.isSingleNode
  const executed = (await blockchain.getIteratorHead()).header.number
  const unexecuted = executed < number - 1n
  if (alone || unexecuted || (sync !== undefined && peerAhead(sync))) {
    const why = alone ? 'no peer yet' : unexecuted ? 'its parent is not executed yet' : 'a peer is ahead'
    this.config.logger?.info(`consortium: not sealing block ${number} (${why})`)
    return this.queueNextAssembly(this.period)
  }
  try {
    return await whileBuilding(() => assembleBlock.call(this))
  } catch (err) {
    // an error here was unhandled and stopped the whole client
    this.assembling = false
    this.config.logger?.warn(`consortium: block ${number} not sealed: ${err?.message ?? err}`)
    return this.queueNextAssembly(this.period)
  }
}

await load('bin/cli.js')

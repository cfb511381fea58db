// Upload one file with the official @storacha/client and print {root, shards, seconds, space,
// hwm_kb} (hwm_kb: the process's peak RSS, VmHWM from /proc/self/status, in KiB).
//
//   node js_upload.mjs FILE --url URL --did SERVICE_DID --key Mg... --proof m...
//   node js_upload.mjs FILE --url URL --did SERVICE_DID --login alice@example.com
//
// --key/--proof: an agent key (`storacha key create`) and a space delegation to it
// (`storacha delegation create --base64`), as a backend would hold them.
// --login: a fresh agent logs in (the test service confirms the e-mail) and creates a
// provisioned space, as a person would. --shard-size N sets the CAR shard size in bytes.
// `seconds` times uploadFile alone (encoding, hashing, piece CIDs, PUTs, receipts).
import { openAsBlob, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import * as Client from '@storacha/client'
import { StoreMemory } from '@storacha/client/stores/memory'
import * as Proof from '@storacha/client/proof'
import * as Signer from '@storacha/client/principal/ed25519'
import { connect } from '@ucanto/client'
import { CAR, HTTP } from '@ucanto/transport'
import { DID } from '@ucanto/core'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.STORACHA_SERVICE_URL },
    did: { type: 'string', default: process.env.STORACHA_SERVICE_DID },
    key: { type: 'string' },
    proof: { type: 'string' },
    login: { type: 'string' },
    'shard-size': { type: 'string' },
  },
})
if (positionals.length !== 1 || !values.url || !values.did || !(values.login || (values.key && values.proof))) {
  console.error('usage: js_upload.mjs FILE --url URL --did DID (--key K --proof P | --login EMAIL) [--shard-size N]')
  process.exit(2)
}

const connection = connect({
  id: DID.parse(values.did),
  codec: CAR.outbound,
  channel: HTTP.open({ url: new URL(values.url), method: 'POST' }),
})
const client = await Client.create({
  principal: values.key ? Signer.parse(values.key) : undefined,
  store: new StoreMemory(),
  serviceConf: { access: connection, upload: connection, filecoin: connection, gateway: connection },
  receiptsEndpoint: new URL('/receipt/', values.url),
})

let space
if (values.key) {
  space = await client.addSpace(await Proof.parse(values.proof))
} else {
  const account = await client.login(values.login)
  space = await client.createSpace('js-upload', { account, skipGatewayAuthorization: true })
}
await client.setCurrentSpace(space.did())

const shards = []
const file = await openAsBlob(positionals[0])
const started = performance.now()
const root = await client.uploadFile(file, {
  shardSize: values['shard-size'] ? Number(values['shard-size']) : undefined,
  onShardStored: (meta) => shards.push(meta.cid.toString()),
})
const seconds = (performance.now() - started) / 1000
const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))
const hwm_kb = hwm ? Number(hwm[1]) : null
console.log(JSON.stringify({ root: root.toString(), shards, seconds, space: space.did(), hwm_kb }))

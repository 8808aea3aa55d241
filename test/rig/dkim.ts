// DKIM keys and signatures made by the tests themselves: a key pair, the TXT
// record that publishes it in the test DNS, and a message signed with
// mailauth's dkimSign (signing needs no DNS).
import { generateKeyPairSync } from 'node:crypto'
import { dkimSign } from 'mailauth'

export interface DkimKey {
  /** PKCS#8 PEM. */
  privateKey: string
  /** `${selector}._domainkey.${domain}` (RFC 6376 3.6.2.1). */
  txtName: string
  /** 'v=DKIM1; k=rsa; p=...' (RFC 6376 3.6.1), or k=ed25519 (RFC 8463 4). */
  txtValue: string
  selector: string
  domain: string
}

export function makeDkimKey(selector: string, domain: string, type: 'rsa' | 'ed25519' = 'rsa'): DkimKey {
  const txtName = `${selector}._domainkey.${domain}`
  if (type === 'ed25519') {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519')
    // RFC 8463 4: p= is the bare 32-byte key, the tail of its SPKI DER.
    const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32)
    return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), txtName, txtValue: `v=DKIM1; k=ed25519; p=${raw.toString('base64')}`, selector, domain }
  }
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  // RFC 6376 3.6.1: p= is the base64 of the DER SubjectPublicKeyInfo.
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), txtName, txtValue: `v=DKIM1; k=rsa; p=${der.toString('base64')}`, selector, domain }
}

/** The message with a DKIM-Signature for d=domain, s=selector on top. Throws if mailauth made none. */
export async function signMessage(raw: string, opts: { domain: string; selector: string; privateKey: string }): Promise<string> {
  const key = { signingDomain: opts.domain, selector: opts.selector, privateKey: opts.privateKey }
  // mailauth signs what signatureData lists; its types also want the key's
  // fields at the top level.
  const res = await dkimSign(raw, { ...key, canonicalization: 'relaxed/relaxed', signatureData: [key] })
  if (!res.signatures) throw new Error(`dkimSign made no signature: ${JSON.stringify(res.errors)}`)
  return res.signatures + raw
}

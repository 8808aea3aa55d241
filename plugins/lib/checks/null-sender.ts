// G34: the provider refuses the null reverse-path (MAIL FROM:<>). RFC 5321
// 4.5.5 expects bounces and other notifications to use it, so an operator who
// wants DSNs from other systems turns this off ([null_sender] reject=false).
import { Verdict } from '../codes/render'

export interface NullSenderFacts {
  /** True for MAIL FROM:<>. */
  isNull: boolean
}

export function nullSender(facts: NullSenderFacts, cfg: { reject: boolean }): Verdict | undefined {
  if (!cfg.reject || !facts.isNull) return undefined
  return { id: 'G34', reason: 'MAIL FROM:<>' }
}

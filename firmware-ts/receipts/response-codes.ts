// ISO 8583 field 39 response codes as UnionPay (CUP) POS terminals show them: one table, Chinese and
// English, used by the CLI, the status words and the log. Codes not in the table are shown as unknown,
// never as a guess.
export interface ResponseMeaning {
  zh: string;
  en: string;
}

export const RESPONSE_CODES: Readonly<Record<string, ResponseMeaning>> = {
  '00': { zh: '交易成功', en: 'approved' },
  '01': { zh: '请持卡人与发卡行联系', en: 'refer to card issuer' },
  '03': { zh: '无效商户', en: 'invalid merchant' },
  '04': { zh: '没收卡', en: 'pick up card' },
  '05': { zh: '不予承兑', en: 'do not honour' },
  '06': { zh: '出错', en: 'error' },
  '09': { zh: '交易正在处理中', en: 'request in progress' },
  '12': { zh: '无效交易', en: 'invalid transaction' },
  '13': { zh: '无效金额', en: 'invalid amount' },
  '14': { zh: '无效卡号', en: 'invalid card number' },
  '15': { zh: '无此发卡行', en: 'no such issuer' },
  '19': { zh: '请重新交易', en: 're-enter transaction' },
  '21': { zh: '未能采取行动', en: 'no action taken' },
  '22': { zh: '操作有误或怀疑有故障', en: 'suspected malfunction' },
  '23': { zh: '不可接受的交易费', en: 'unacceptable transaction fee' },
  '25': { zh: '找不到原始交易', en: 'original transaction not found' },
  '30': { zh: '报文格式错误', en: 'format error' },
  '31': { zh: '交换中心不支持的银行', en: 'bank not supported by the switch' },
  '33': { zh: '过期卡，请没收', en: 'expired card, pick up' },
  '34': { zh: '有作弊嫌疑，请没收', en: 'suspected fraud, pick up' },
  '35': { zh: '请与收单行安全部门联系', en: 'contact acquirer security' },
  '36': { zh: '受限制的卡，请没收', en: 'restricted card, pick up' },
  '38': { zh: '密码错误次数超限，请没收', en: 'PIN tries exceeded, pick up' },
  '40': { zh: '发卡行不支持的交易类型', en: 'function not supported' },
  '41': { zh: '挂失卡，请没收', en: 'lost card, pick up' },
  '43': { zh: '被窃卡，请没收', en: 'stolen card, pick up' },
  '51': { zh: '余额不足', en: 'insufficient funds' },
  '54': { zh: '过期卡', en: 'expired card' },
  '55': { zh: '密码错误', en: 'wrong PIN' },
  '57': { zh: '不允许持卡人进行的交易', en: 'transaction not permitted to cardholder' },
  '58': { zh: '不允许终端进行的交易', en: 'transaction not permitted to terminal' },
  '59': { zh: '有作弊嫌疑', en: 'suspected fraud' },
  '61': { zh: '超出金额限制', en: 'exceeds amount limit' },
  '62': { zh: '受限制的卡', en: 'restricted card' },
  '64': { zh: '原始金额不符', en: 'original amount incorrect' },
  '65': { zh: '超出消费次数限制', en: 'exceeds frequency limit' },
  '68': { zh: '交易超时，请重试', en: 'response received too late' },
  '75': { zh: '密码错误次数超限', en: 'PIN tries exceeded' },
  '77': { zh: '请重新签到', en: 'sign on again' },
  '90': { zh: '日切处理中，请稍后重试', en: 'cut-off in progress' },
  '91': { zh: '发卡行或交换中心不能操作', en: 'issuer or switch inoperative' },
  '92': { zh: '发卡行线路故障', en: 'issuer unreachable' },
  '93': { zh: '交易违法，不能完成', en: 'violation of law' },
  '94': { zh: '重复交易', en: 'duplicate transmission' },
  '95': { zh: '对账不平', en: 'reconcile error' },
  '96': { zh: '系统故障', en: 'system malfunction' },
  '97': { zh: '终端号未登记', en: 'terminal not registered' },
  '98': { zh: '发卡行超时', en: 'issuer response timed out' },
  '99': { zh: 'PIN格式错', en: 'PIN block error' },
  A0: { zh: 'MAC校验错，请重新签到', en: 'MAC check failed, sign on again' },
};

/** `51 余额不足 / insufficient funds`; an unknown code says so. */
export function describeResponseCode(code: string): string {
  const m = Object.hasOwn(RESPONSE_CODES, code) ? RESPONSE_CODES[code] : undefined;
  return m ? `${code} ${m.zh} / ${m.en}` : `${code} (code not in the CUP list / 未知应答码)`;
}

/**
 * A moment for people, as the tooltip and notifications name "the next automatic refresh": the
 * local time alone when it is today, the local date and time when it is not (a capped Retry-After
 * can reach past midnight; issue 17.5). Pure but for the machine's locale and time zone.
 * @param atMs the moment, epoch ms.
 * @param nowMs now, epoch ms.
 */
export function momentText(atMs: number, nowMs: number): string {
  const at = new Date(atMs);
  const now = new Date(nowMs);
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  return sameDay ? at.toLocaleTimeString() : at.toLocaleString();
}

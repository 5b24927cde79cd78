/** Small synthetic support-ticket tables shared by the data tests. */
import { Prng } from '../../../src/lib/shared/prng';

export const TEAMS = ['billing', 'shipping', 'tech', 'account'];
const PHRASES: Record<string, string[]> = {
	billing: ['I was charged twice for my invoice', 'refund my payment please', 'the card payment failed'],
	shipping: ['my parcel has not arrived', 'the delivery is late again', 'tracking number shows nothing'],
	tech: ['the app crashes on login', 'error 500 when I upload a file', 'the page will not load'],
	account: ['reset my password', 'change the email on my account', 'delete my profile']
};

/** CSV text of `n` tickets: id, text, team, channel, region, priority. */
export function ticketsCsv(n: number, seed = 1, teams = TEAMS): string {
	const rng = new Prng(seed);
	const lines = ['id,text,team,channel,region,priority'];
	for (let i = 0; i < n; i++) {
		const team = teams[i % teams.length];
		const p = PHRASES[team] ?? PHRASES.billing;
		const text = `${p[rng.int(p.length)]}, order ${1000 + i}${rng.next() < 0.3 ? ' — thanks!' : ''}`;
		const channel = ['email', 'chat', 'phone'][rng.int(3)];
		const region = ['EU', 'US', 'APAC'][rng.int(3)];
		lines.push(`T-${i},"${text}",${team},${channel},${region},${1 + rng.int(3)}`);
	}
	return lines.join('\n') + '\n';
}

export const enc = (s: string) => new TextEncoder().encode(s);

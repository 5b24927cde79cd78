import adapter from '@sveltejs/adapter-static';

/**
 * Content-Security-Policy (issue 14, defect 8). A static site: SvelteKit writes it as a <meta> in
 * every prerendered page, with the sha256 of its inline bootstrap script (`mode: 'hash'`).
 * - script-src 'self' + that hash: no eval in the page's bundle (tfjs, its WebGPU backend and the
 *   tokenizers run in the workers; the one WebAssembly use there, long.js's optional int64 helper,
 *   falls back by itself), so neither 'unsafe-eval' nor 'wasm-unsafe-eval' is allowed.
 * - style-src 'unsafe-inline': the page's own markup carries style attributes (app.html's
 *   `display: contents`, Svelte's SSR'd `style:` values); attributes cannot be hashed without
 *   'unsafe-hashes', and styles cannot run script.
 * - connect-src: the site itself, the Hugging Face Hub and the hosts its downloads redirect to
 *   (cdn-lfs*.huggingface.co, cdn-lfs*.hf.co, cas-bridge.xethub.hf.co), and loopback on any port:
 *   a meta CSP cannot change at run time, so a Hub endpoint chosen with `?hub=` is allowed only on
 *   loopback (a local mirror, the e2e fake Hub on 127.0.0.1:4320). The Hub is fetched in the hub
 *   and engine workers, whose policy comes from their own responses' headers, not this meta; the
 *   list states what the studio connects to and binds any fetch the page itself makes.
 * - worker-src 'self': the three module workers are same-origin scripts.
 * - object-src 'none', base-uri 'none', form-action 'self'. frame-ancestors cannot be set in a
 *   meta; a host that wants it sets the header.
 */
const csp = {
	mode: 'hash',
	directives: {
		'default-src': ['self'],
		'script-src': ['self'],
		'style-src': ['self', 'unsafe-inline'],
		'img-src': ['self', 'data:', 'blob:'],
		'font-src': ['self'],
		'connect-src': [
			'self',
			'https://huggingface.co',
			'https://*.huggingface.co',
			'https://*.hf.co',
			'http://127.0.0.1:*',
			'http://localhost:*'
		],
		'worker-src': ['self'],
		'object-src': ['none'],
		'base-uri': ['none'],
		'form-action': ['self']
	}
};

/** @type {import('@sveltejs/kit').Config} */
export default {
	kit: {
		// A static site: every screen is prerendered, the SPA fallback serves deep links.
		adapter: adapter({ fallback: '200.html' }),
		alias: { $workers: 'workers' },
		csp
	}
};

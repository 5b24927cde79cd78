import adapter from '@sveltejs/adapter-static';

/** @type {import('@sveltejs/kit').Config} */
export default {
	kit: {
		// A static site: every screen is prerendered, the SPA fallback serves deep links.
		adapter: adapter({ fallback: '200.html' }),
		alias: { $workers: 'workers' }
	}
};

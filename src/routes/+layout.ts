// The studio lives in the browser (IndexedDB, workers, WebGPU): prerender empty shells, render on the client.
export const prerender = true;
export const ssr = false;

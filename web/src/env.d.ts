// Vite bundles imported stylesheets into a file of their own (linked from index.html).
declare module '*.css';

/** Vite's `?url` imports: the built asset's URL, served from the app's own origin. */
declare module '*?url' {
  const url: string;
  export default url;
}

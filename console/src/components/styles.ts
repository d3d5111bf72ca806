import { css } from 'lit';

// Shared look: system fonts only (no external fonts), readable on a laptop screen, visible
// keyboard focus everywhere.
export const base = css`
  :host {
    display: block;
    font-family: system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif;
    color: #1d2330;
    line-height: 1.5;
  }
  h1 { font-size: 1.5rem; margin: 0 0 0.5rem; }
  h2 { font-size: 1.15rem; margin: 1.25rem 0 0.5rem; }
  p { margin: 0.25rem 0 0.75rem; }
  .muted { color: #5b6475; font-size: 0.9rem; }
  code, .mono { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; font-size: 0.85rem; word-break: break-all; }
  button {
    font: inherit; padding: 0.4rem 0.9rem; border-radius: 6px; border: 1px solid #3056d3;
    background: #3056d3; color: #fff; cursor: pointer;
  }
  button.secondary { background: #fff; color: #3056d3; }
  button.danger { background: #b42318; border-color: #b42318; }
  button:disabled { opacity: 0.5; cursor: default; }
  button:focus-visible, a:focus-visible, input:focus-visible, textarea:focus-visible, summary:focus-visible, tr:focus-visible {
    outline: 3px solid #f5a524; outline-offset: 2px;
  }
  input, textarea {
    font: inherit; padding: 0.4rem 0.5rem; border: 1px solid #a8b0c0; border-radius: 6px; width: 100%; box-sizing: border-box;
  }
  label { display: block; margin: 0.5rem 0 0.2rem; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.45rem 0.5rem; border-bottom: 1px solid #e3e6ec; vertical-align: top; }
  th { background: #f4f6fa; font-weight: 600; white-space: nowrap; }
  .card { background: #fff; border: 1px solid #e3e6ec; border-radius: 8px; padding: 1rem 1.25rem; margin: 0 0 1rem; }
  .row { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
  .ok { color: #067647; }
  .bad { color: #b42318; }
`;

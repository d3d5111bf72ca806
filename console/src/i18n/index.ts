// Message catalogs and the current language. Simplified Chinese is the default; the
// choice is remembered in localStorage. Components re-render on a switch through
// LocaleController.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { en } from './en.js';
import { zhCN, type MessageKey } from './zh-CN.js';

export type Lang = 'zh-CN' | 'en';
export const catalogs: Record<Lang, Record<MessageKey, string>> = { 'zh-CN': zhCN, en };
export type { MessageKey };

const KEY = 'cloudpact.lang';
const listeners = new Set<() => void>();

function initial(): Lang {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'en' || v === 'zh-CN') return v;
  } catch {
    /* no storage: default */
  }
  return 'zh-CN';
}

let current: Lang = initial();

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  try {
    localStorage.setItem(KEY, l);
  } catch {
    /* not remembered */
  }
  document.documentElement.lang = l;
  for (const f of listeners) f();
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const s = catalogs[current][key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

export function formatTime(unixSeconds: number): string {
  if (!unixSeconds) return '—';
  return new Date(unixSeconds * 1000).toLocaleString(current === 'en' ? 'en-GB' : 'zh-CN');
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  if (h && m) return t('duration.hm', { h, m });
  if (h) return t('duration.h', { h });
  return t('duration.m', { m });
}

export class LocaleController implements ReactiveController {
  private readonly update = () => this.host.requestUpdate();
  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }
  hostConnected() {
    listeners.add(this.update);
  }
  hostDisconnected() {
    listeners.delete(this.update);
  }
}

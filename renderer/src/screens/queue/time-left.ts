/** A live countdown: the current time, updated every second, and "time left" in words. */
import { useEffect, useState } from 'react';

export function useNow(intervalMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** "42 s left", "3 min 5 s left", "expired 12 s ago". */
export function timeLeft(expiresAt: string, now: number): { seconds: number; text: string } {
  const seconds = Math.floor((Date.parse(expiresAt) - now) / 1000);
  const words = (s: number) => (s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`);
  return { seconds, text: seconds >= 0 ? `${words(seconds)} left` : `expired ${words(-seconds)} ago` };
}

// Linux /proc readings: a process's resident memory and CPU time, and the machine's CPU
// time, so a phase can say how busy the server, the load generator and the rest were.
import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ: 100 on every mainstream Linux build; /proc/<pid>/stat counts in these ticks.
const TICKS_PER_SECOND = 100;

const VM_RSS = /^VmRSS:\s+(\d+) kB$/m;
const VM_HWM = /^VmHWM:\s+(\d+) kB$/m;

/** Resident set size in bytes (VmRSS), or null once the process is gone. */
export function residentBytes(pid: number): number | null {
  return statusField(pid, VM_RSS);
}

/** Peak resident set size in bytes (VmHWM) over the process's life so far. */
export function peakResidentBytes(pid: number): number | null {
  return statusField(pid, VM_HWM);
}

const PSS = /^Pss:\s+(\d+) kB$/m;

/**
 * Proportional set size in bytes, or null once the process is gone: resident memory with
 * each shared page (the node binary's, above all) divided among the processes sharing it,
 * so the PSS of several workers adds up to what they hold together.
 */
export function proportionalBytes(pid: number): number | null {
  try {
    const match = PSS.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

function statusField(pid: number, field: RegExp): number | null {
  try {
    const match = field.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

/** User plus system CPU seconds the process has used so far. */
export function processCPUSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state field.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds of the process's children that have exited and been waited for (cutime + cstime). */
export function exitedChildrenCPUSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // cutime and cstime are fields 16 and 17, i.e. 13 and 14 after the state field.
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

/** Busy and total CPU seconds of the whole machine, summed over all cores. */
export function machineCPUSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // user nice system idle iowait irq softirq steal; guest time is already inside user.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  // idle and iowait are the 4th and 5th counters.
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/**
 * CPU seconds per thread name of a process (Linux: /proc/PID/task/TID/comm), e.g. the main
 * thread (`node`), the libuv pool (`libuv-worker`), V8's helpers (`V8 DefaultWorke`):
 * where a process's CPU goes when its main-thread profile is mostly idle.
 */
export function threadCPUSeconds(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
    } catch {
      // The thread ended; its time is lost, which only understates that group.
    }
  }
  return byName;
}

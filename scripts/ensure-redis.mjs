// Makes sure Debian's redis-server is on the machine for the Redis tier's tests (test/redis/):
// installs it with apt-get where this runs as root, and says so; elsewhere it says what is missing
// (the tests then skip with that reason, and fail under CI). Exit status 0 unless an install failed.
import { execFileSync } from 'node:child_process';

function has(command, args) {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function apt(args) {
  execFileSync('apt-get', args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

if (!has('redis-server', ['--version'])) {
  if (process.getuid?.() !== 0 || !has('apt-get', ['--version'])) {
    console.log(
      'ensure-redis: redis-server is missing and cannot be installed here (not root, or no apt-get): the Redis tests skip',
    );
  } else {
    console.log('ensure-redis: installing redis-server (apt-get) for the Redis tier tests');
    try {
      apt(['install', '-y', '--no-install-recommends', 'redis-server']);
    } catch {
      apt(['update']);
      apt(['install', '-y', '--no-install-recommends', 'redis-server']);
    }
    // The package starts a system server on port 6379; the tests start their own on a free port.
    try {
      execFileSync('service', ['redis-server', 'stop'], { stdio: 'ignore' });
    } catch {}
  }
}

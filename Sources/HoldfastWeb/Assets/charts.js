// Line charts on <canvas>, drawn here: a few series over the last points, a grid, the latest value.

/** Draws `series` ([{values, color}]) on `canvas`; `format` labels the axis and latest values. */
export function drawChart(canvas, series, format = (value) => String(Number(value.toFixed(1)))) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const left = 44;
  const top = 8;
  const right = width - 6;
  const bottom = height - 18;
  const capacity = Math.max(...series.map((line) => line.capacity || line.values.length), 2);
  const maximum = niceCeiling(Math.max(1, ...series.flatMap((line) => line.values)));
  context.font = '11px system-ui, sans-serif';
  context.fillStyle = '#667085';
  context.strokeStyle = '#eef0f3';
  context.lineWidth = 1;
  for (let step = 0; step <= 4; step += 1) {
    const y = bottom - ((bottom - top) * step) / 4;
    context.beginPath();
    context.moveTo(left, y);
    context.lineTo(right, y);
    context.stroke();
    context.textAlign = 'right';
    context.fillText(format((maximum * step) / 4), left - 4, y + 4);
  }
  context.textAlign = 'left';
  context.fillText('−10 min', left, height - 4);
  context.textAlign = 'right';
  context.fillText('now', right, height - 4);
  for (const line of series) {
    const values = line.values;
    if (values.length === 0) continue;
    context.strokeStyle = line.color;
    context.lineWidth = 1.5;
    context.beginPath();
    values.forEach((value, index) => {
      const x = right - ((right - left) * (values.length - 1 - index)) / (capacity - 1);
      const y = bottom - ((bottom - top) * value) / maximum;
      if (index === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.stroke();
  }
}

function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 4, 8, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/** A fixed-size window of the last `capacity` numbers. */
export class Window {
  constructor(capacity) {
    this.capacity = capacity;
    this.values = [];
  }
  push(value) {
    this.values.push(value);
    if (this.values.length > this.capacity) this.values.shift();
  }
}

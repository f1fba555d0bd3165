// The skeleton over the frame MediaPipe processed (capture.js draws the frame into the view first),
// so that the two always match while the live video runs ahead by one processing time. Drawn with
// MediaPipe's drawing utilities and connection sets (globals of drawing_utils.js and holistic.js):
// upper body, face contours and both hands, in the desktop app's colours.

const COLORS = { body: '#ffffff', face: '#c8c8c8', leftHand: '#50c8ff', rightHand: '#ff7850' };
const FIRST_LEG_POINT = 25; // MediaPipe's knees, ankles, heels and feet: signers are seen from the hips up

let upperBody = null;

/** Draw the skeleton of one frame's results over that frame (already on the canvas). */
export function drawSkeleton(canvas, results) {
  const g = globalThis;
  const ctx = canvas.getContext('2d');
  upperBody ??= g.POSE_CONNECTIONS.filter(([a, b]) => a < FIRST_LEG_POINT && b < FIRST_LEG_POINT);
  const width = Math.max(1, canvas.width / 320);
  const lines = [
    [results.faceLandmarks, g.FACEMESH_CONTOURS, COLORS.face, width * 0.6],
    [results.poseLandmarks, upperBody, COLORS.body, width * 1.5],
    [results.leftHandLandmarks, g.HAND_CONNECTIONS, COLORS.leftHand, width * 1.5],
    [results.rightHandLandmarks, g.HAND_CONNECTIONS, COLORS.rightHand, width * 1.5],
  ];
  for (const [landmarks, connections, color, lineWidth] of lines) {
    if (landmarks) g.drawConnectors(ctx, landmarks, connections, { color, lineWidth });
  }
  for (const [landmarks, color] of [[results.leftHandLandmarks, COLORS.leftHand],
    [results.rightHandLandmarks, COLORS.rightHand]]) {
    if (landmarks) g.drawLandmarks(ctx, landmarks, { color, fillColor: color, lineWidth: 1, radius: width * 1.5 });
  }
}
